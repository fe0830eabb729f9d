package io.fedstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.schemas.avro.DType;
import io.fedstream.schemas.avro.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChunkLayoutTest {
    // tensors of 6, 3 and 8 elements: 17 in all; chunks of 5 -> 5, 5, 5, 2
    private final FederationSpec spec =
            new FederationSpec(
                    "f",
                    1,
                    List.of(
                            TensorSpec.normal("a", 1, 2, 3),
                            TensorSpec.normal("b", 1, 3),
                            TensorSpec.normal("c", 1, 2, 4)),
                    5);
    private final ChunkLayout layout = spec.layout();

    @Test
    void cutsTheFlattenedVectorIntoContiguousRanges() {
        assertThat(layout.totalElements()).isEqualTo(17);
        assertThat(layout.chunkCount()).isEqualTo(4);
        assertThat(List.of(0, 1, 2, 3).stream().map(layout::chunkLength))
                .containsExactly(5, 5, 5, 2);
        assertThat(layout.chunkStart(3)).isEqualTo(15);
        assertThat(layout.tensorStart(2)).isEqualTo(9);
        assertThatThrownBy(() -> layout.chunkLength(4))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(spec.withChunkElements(17).layout().chunkCount()).isEqualTo(1);
        assertThat(spec.withChunkElements(1000).layout().chunkLength(0)).isEqualTo(17);
    }

    @Test
    void mapsTensorOffsetsToChunkOffsetsAcrossTensorBoundaries() {
        assertThat(layout.locate(0, 0)).isEqualTo(new ChunkLayout.Position(0, 0));
        assertThat(layout.locate(0, 5)).isEqualTo(new ChunkLayout.Position(1, 0));
        assertThat(layout.locate(1, 2)).isEqualTo(new ChunkLayout.Position(1, 3));
        assertThat(layout.locate(2, 7)).isEqualTo(new ChunkLayout.Position(3, 1));
        for (int t = 0; t < layout.tensorCount(); t++) {
            for (int i = 0; i < layout.tensorSize(t); i++) {
                ChunkLayout.Position p = layout.locate(t, i);
                long flat = layout.chunkStart(p.chunk()) + p.offset();
                assertThat(layout.tensorOf(flat)).isEqualTo(t);
                assertThat(flat - layout.tensorStart(t)).isEqualTo(i);
            }
        }
        assertThatThrownBy(() -> layout.locate(1, 3)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void splitsTensorsIntoChunksAndFlattensBack() {
        float[] flat = new float[17];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = i + 0.5f;
        }
        List<Tensor> tensors = layout.tensors(flat);

        ChunkLayout.Split split = layout.split(tensors);

        assertThat(split.dtype()).isEqualTo(DType.FLOAT32);
        assertThat(split.chunks().length).isEqualTo(4);
        float[] joined = new float[17];
        for (int c = 0; c < 4; c++) {
            ByteBuffer.wrap(split.chunks()[c])
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer()
                    .get(joined, (int) layout.chunkStart(c), layout.chunkLength(c));
            assertThat(split.chunks()[c]).isEqualTo(layout.float32Chunk(flat, c));
        }
        assertThat(joined).containsExactly(flat);
        assertThat(layout.flatten(tensors)).containsExactly(flat);
    }

    @Test
    void mixedDtypesAreWidenedToFloat32() {
        List<Tensor> tensors = new ArrayList<>(layout.tensors(new float[17]));
        Tensor b = tensors.get(1);
        ByteBuffer bf16 = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN);
        bf16.putShort((short) 0x3F80).putShort((short) 0xC000).putShort((short) 0x4040).flip();
        tensors.set(
                1, Tensor.newBuilder(b).setDtype(DType.BFLOAT16).setData(bf16).build()); // 1, -2, 3

        ChunkLayout.Split split = layout.split(tensors);

        assertThat(split.dtype()).isEqualTo(DType.FLOAT32);
        float[] c1 = new float[5];
        ByteBuffer.wrap(split.chunks()[1]).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(c1);
        assertThat(c1).containsExactly(0f, 1f, -2f, 3f, 0f);
    }

    @Test
    void theVersionDigestDependsOnEveryChunkDigestAndTheLayout() {
        List<String> digests = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            digests.add(ChunkLayout.globalChunkSha256(new byte[] {(byte) c}));
        }
        String d = layout.versionDigest(digests);
        List<String> swapped = new ArrayList<>(digests);
        swapped.set(0, digests.get(1));
        swapped.set(1, digests.get(0));

        assertThat(d).hasSize(64).isEqualTo(layout.versionDigest(List.copyOf(digests)));
        assertThat(layout.versionDigest(swapped)).isNotEqualTo(d);
        assertThat(
                        ChunkLayout.of(
                                        List.of("a", "b", "x"),
                                        List.of(new int[] {2, 3}, new int[] {3}, new int[] {2, 4}),
                                        5)
                                .versionDigest(digests))
                .isNotEqualTo(d);
        assertThat(ChunkLayout.updateChunkSha256(DType.FLOAT32, new byte[4]))
                .isNotEqualTo(ChunkLayout.updateChunkSha256(DType.BFLOAT16, new byte[4]));
        assertThatThrownBy(() -> layout.versionDigest(digests.subList(0, 3)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
