package io.fedstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.GlobalChunk;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Manifest;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GlobalModelAssemblerTest {
    private final FederationSpec spec =
            new FederationSpec(
                    "f",
                    3,
                    List.of(TensorSpec.normal("a", 1, 3, 7), TensorSpec.normal("b", 1, 11)),
                    4); // 32 elements in 8 chunks
    private final ChunkLayout layout = spec.layout();

    private GlobalModel inline(long version) {
        List<io.fedstream.schemas.avro.Tensor> tensors =
                TensorCodec.fromMap(spec, spec.withChunkElements(1).initialValues());
        float[] a = TensorCodec.toFloats(tensors.get(0));
        a[0] += version;
        tensors.set(0, TensorCodec.float32("a", new int[] {3, 7}, a));
        return GlobalModel.newBuilder()
                .setFederationId("f")
                .setVersion(version)
                .setParentVersion(version - 1)
                .setTensors(tensors)
                .setManifest(
                        Manifest.newBuilder()
                                .setCloseReason(CloseReason.QUORUM)
                                .setRule("fedavg")
                                .setContributions(List.of())
                                .setTotalWeight(1)
                                .setRoundOpenedAtMs(Instant.ofEpochMilli(1))
                                .setRoundClosedAtMs(Instant.ofEpochMilli(2))
                                .setTensorsSha256(TensorCodec.sha256(tensors))
                                .build())
                .build();
    }

    private static byte[] bytes(GlobalChunk c) {
        return AvroCodec.GLOBAL_CHUNK.encode(c);
    }

    @Test
    void reassemblesAVersionFromChunksInAnyOrderWithDuplicates() {
        GlobalModel v3 = inline(3);
        GlobalModelAssembler.Chunked chunked = GlobalModelAssembler.chunk(v3, layout);
        List<byte[]> records = new ArrayList<>();
        chunked.chunks().forEach(c -> records.add(bytes(c)));
        records.add(bytes(chunked.chunks().get(2))); // a duplicate
        records.add(AvroCodec.GLOBAL_MODEL.encode(chunked.manifest()));
        Collections.shuffle(records, new Random(7));
        GlobalModelAssembler assembler = new GlobalModelAssembler();

        List<GlobalModel> complete = new ArrayList<>();
        records.forEach(r -> complete.addAll(assembler.accept(r)));

        assertThat(chunked.chunks()).hasSize(8);
        assertThat(chunked.manifest().getTensors()).isEmpty();
        assertThat(complete).hasSize(1);
        GlobalModel back = complete.get(0);
        assertThat(back.getVersion()).isEqualTo(3);
        assertThat(TensorCodec.toMap(back.getTensors()))
                .containsOnlyKeys("a", "b")
                .satisfies(
                        m -> {
                            assertThat(m.get("a"))
                                    .containsExactly(TensorCodec.toFloats(v3.getTensors().get(0)));
                            assertThat(m.get("b"))
                                    .containsExactly(TensorCodec.toFloats(v3.getTensors().get(1)));
                        });
        assertThat(GlobalModelAssembler.digest(back))
                .isEqualTo(back.getManifest().getTensorsSha256());
        assertThat(assembler.pendingCount()).isZero();
        assertThat(assembler.problems()).isEmpty();
    }

    @Test
    void aVersionWithAMissingChunkIsNeverReturned() {
        GlobalModelAssembler.Chunked chunked = GlobalModelAssembler.chunk(inline(1), layout);
        GlobalModelAssembler assembler = new GlobalModelAssembler();

        List<GlobalModel> complete = new ArrayList<>();
        for (GlobalChunk c : chunked.chunks().subList(1, 8)) {
            complete.addAll(assembler.accept(bytes(c)));
        }
        complete.addAll(assembler.accept(AvroCodec.GLOBAL_MODEL.encode(chunked.manifest())));

        assertThat(complete).isEmpty();
        assertThat(assembler.pendingCount()).isEqualTo(1);
        assertThat(assembler.accept(bytes(chunked.chunks().get(0)))).hasSize(1);
    }

    @Test
    void aCorruptChunkDoesNotCompleteAVersionButAGoodCopyDoes() {
        GlobalModelAssembler.Chunked chunked = GlobalModelAssembler.chunk(inline(1), layout);
        GlobalChunk bad = GlobalChunk.newBuilder(chunked.chunks().get(5)).build();
        byte[] data = new byte[bad.getData().remaining()];
        bad.getData().duplicate().get(data);
        data[3] ^= 1;
        bad.setData(ByteBuffer.wrap(data));
        GlobalModelAssembler assembler = new GlobalModelAssembler();

        List<GlobalModel> complete = new ArrayList<>();
        complete.addAll(assembler.accept(AvroCodec.GLOBAL_MODEL.encode(chunked.manifest())));
        for (int c = 0; c < 8; c++) {
            complete.addAll(assembler.accept(bytes(c == 5 ? bad : chunked.chunks().get(c))));
        }
        assertThat(complete).isEmpty();
        complete.addAll(assembler.accept(bytes(chunked.chunks().get(5))));

        assertThat(complete).hasSize(1);
    }

    @Test
    void aForgedManifestDigestIsAProblemNotAVersion() {
        GlobalModelAssembler.Chunked chunked = GlobalModelAssembler.chunk(inline(1), layout);
        GlobalModel forged = GlobalModel.newBuilder(chunked.manifest()).build();
        forged.setManifest(
                Manifest.newBuilder(forged.getManifest()).setTensorsSha256("00").build());
        GlobalModelAssembler assembler = new GlobalModelAssembler();

        List<GlobalModel> complete = new ArrayList<>(assembler.accept(forged));
        chunked.chunks().forEach(c -> complete.addAll(assembler.accept(c)));

        assertThat(complete).isEmpty();
        assertThat(assembler.problems()).hasSize(1);
    }

    @Test
    void readsTheOldInlineFormAndChecksItsDigest() {
        GlobalModel v = inline(2);
        GlobalModel bad = GlobalModel.newBuilder(v).build();
        bad.setManifest(Manifest.newBuilder(v.getManifest()).setTensorsSha256("ab").build());
        bad.setVersion(5);
        GlobalModelAssembler assembler = new GlobalModelAssembler();

        assertThat(assembler.accept(AvroCodec.GLOBAL_MODEL.encode(v))).containsExactly(v);
        assertThat(assembler.accept(AvroCodec.GLOBAL_MODEL.encode(bad))).isEmpty();
        assertThat(assembler.problems()).hasSize(1);
        assertThat(GlobalModelAssembler.digest(v)).isEqualTo(v.getManifest().getTensorsSha256());
    }
}
