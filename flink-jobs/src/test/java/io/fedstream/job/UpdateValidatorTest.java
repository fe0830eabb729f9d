package io.fedstream.job;

import static io.fedstream.job.Fixtures.SPEC;
import static io.fedstream.job.Fixtures.constantDelta;
import static io.fedstream.job.Fixtures.raw;
import static io.fedstream.job.Fixtures.update;
import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.job.adapter.UpdateEvent;
import io.fedstream.job.adapter.UpdateValidator;
import io.fedstream.job.adapter.ValidUpdate;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.DType;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.Tensor;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UpdateValidatorTest {
    private final UpdateValidator validator =
            new UpdateValidator(Map.of(SPEC.id(), SPEC), new UpdateValidator.Limits(1000, 10, 20));

    private RejectReason reasonFor(RawRecord r) {
        UpdateValidator.Outcome o = validator.validate(r);
        assertThat(o).isInstanceOf(UpdateValidator.Rejected.class);
        return ((UpdateValidator.Rejected) o).reason();
    }

    private RejectReason reasonFor(AdapterUpdate u) {
        return reasonFor(raw(u));
    }

    @Test
    void acceptsAWellFormedUpdateAndKeepsItsTensorsInSpecOrder() {
        AdapterUpdate u = update("u1", 0, 10, constantDelta(0.5f)).build();
        List<Tensor> reversed = new ArrayList<>(u.getTensors());
        java.util.Collections.reverse(reversed);
        u.setTensors(reversed);

        UpdateValidator.Outcome o = validator.validate(raw(u));

        assertThat(o).isInstanceOf(UpdateValidator.Accepted.class);
        ValidUpdate v = ((UpdateValidator.Accepted) o).update();
        assertThat(v.updateId).isEqualTo("u1");
        assertThat(v.tensors.length).isEqualTo(2);
        assertThat(v.tensors[0]).hasSize(6 * 4);
        assertThat(v.tensors[1]).hasSize(2 * 4);
        assertThat(v.sourceOffset).isEqualTo(42);
    }

    @Test
    void bytesThatAreNotAvro() {
        assertThat(reasonFor(raw("hello, this is not avro".getBytes(StandardCharsets.UTF_8))))
                .isEqualTo(RejectReason.NOT_AVRO);
        assertThat(reasonFor(raw(new byte[0]))).isEqualTo(RejectReason.NOT_AVRO);
        assertThat(reasonFor(raw((byte[]) null))).isEqualTo(RejectReason.NOT_AVRO);
    }

    @Test
    void anUnknownSchemaFingerprint() {
        byte[] bytes = AvroCodec.ADAPTER_UPDATE.encode(update("u", 0, 1, constantDelta(0)).build());
        bytes[5] ^= 0x5A; // inside the 8-byte fingerprint

        assertThat(reasonFor(raw(bytes))).isEqualTo(RejectReason.UNKNOWN_SCHEMA);
    }

    @Test
    void aTruncatedBody() {
        byte[] bytes = AvroCodec.ADAPTER_UPDATE.encode(update("u", 0, 1, constantDelta(0)).build());

        assertThat(reasonFor(raw(java.util.Arrays.copyOf(bytes, bytes.length / 2))))
                .isEqualTo(RejectReason.MALFORMED);
    }

    @Test
    void anUnknownFederationOrAKeyThatIsNotTheFederation() {
        assertThat(reasonFor(update("u", 0, 1, constantDelta(0)).setFederationId("other").build()))
                .isEqualTo(RejectReason.UNKNOWN_FEDERATION);
        RawRecord r = raw(update("u", 0, 1, constantDelta(0)).build());
        r.key = "other".getBytes(StandardCharsets.UTF_8);
        assertThat(reasonFor(r)).isEqualTo(RejectReason.KEY_MISMATCH);
    }

    @Test
    void missingExtraAndMisshapenTensors() {
        AdapterUpdate missing = update("u", 0, 1, constantDelta(0)).build();
        missing.setTensors(List.of(missing.getTensors().get(0)));
        assertThat(reasonFor(missing)).isEqualTo(RejectReason.MISSING_TENSOR);

        AdapterUpdate extra = update("u", 0, 1, constantDelta(0)).build();
        List<Tensor> more = new ArrayList<>(extra.getTensors());
        more.add(TensorCodec.float32("c", new int[] {1}, new float[] {1}));
        extra.setTensors(more);
        assertThat(reasonFor(extra)).isEqualTo(RejectReason.UNEXPECTED_TENSOR);

        AdapterUpdate shape = update("u", 0, 1, constantDelta(0)).build();
        shape.getTensors().set(0, TensorCodec.float32("a", new int[] {3, 2}, new float[6]));
        assertThat(reasonFor(shape)).isEqualTo(RejectReason.WRONG_SHAPE);

        AdapterUpdate size = update("u", 0, 1, constantDelta(0)).build();
        size.getTensors().get(1).setData(ByteBuffer.wrap(new byte[7]));
        assertThat(reasonFor(size)).isEqualTo(RejectReason.WRONG_SIZE);

        AdapterUpdate dtype = update("u", 0, 1, constantDelta(0)).build();
        dtype.getTensors().get(1).setDtype(DType.BFLOAT16); // 8 bytes are 4 bfloat16, not 2
        assertThat(reasonFor(dtype)).isEqualTo(RejectReason.WRONG_SIZE);
    }

    @Test
    void nonFiniteValuesAndValuesOrNormsBeyondTheBounds() {
        float[][] nan = constantDelta(0);
        nan[0][3] = Float.NaN;
        assertThat(reasonFor(update("u", 0, 1, nan).build())).isEqualTo(RejectReason.NON_FINITE);
        float[][] inf = constantDelta(0);
        inf[1][1] = Float.POSITIVE_INFINITY;
        assertThat(reasonFor(update("u", 0, 1, inf).build())).isEqualTo(RejectReason.NON_FINITE);
        float[][] big = constantDelta(0);
        big[0][0] = 11;
        assertThat(reasonFor(update("u", 0, 1, big).build()))
                .isEqualTo(RejectReason.VALUE_OUT_OF_BOUNDS);
        // 8 elements of 9: norm = sqrt(8 * 81) = 25.5 > 20, every |value| <= 10
        assertThat(reasonFor(update("u", 0, 1, constantDelta(9)).build()))
                .isEqualTo(RejectReason.NORM_OUT_OF_BOUNDS);
    }

    @Test
    void weightHijackingByExampleCount() {
        assertThat(reasonFor(update("u", 0, 0, constantDelta(0)).build()))
                .isEqualTo(RejectReason.BAD_EXAMPLE_COUNT);
        assertThat(reasonFor(update("u", 0, -5, constantDelta(0)).build()))
                .isEqualTo(RejectReason.BAD_EXAMPLE_COUNT);
        assertThat(reasonFor(update("u", 0, 1001, constantDelta(0)).build()))
                .isEqualTo(RejectReason.BAD_EXAMPLE_COUNT);
    }

    @Test
    void rejectionsCarryWhatIsKnownOfTheSender() {
        UpdateValidator.Outcome o =
                validator.validate(
                        raw(update("u9", 0, 0, constantDelta(0)).setSiteId("s3").build()));

        assertThat(o)
                .isEqualTo(
                        new UpdateValidator.Rejected(
                                RejectReason.BAD_EXAMPLE_COUNT,
                                "num_examples 0 is outside [1, 1000]",
                                "f",
                                "s3",
                                "u9"));
    }

    @Test
    void withASiteKeyRegistryOnlyRegisteredSitesSignedUpdatesAreAccepted() {
        java.security.KeyPair key = io.fedstream.schemas.SiteKeys.generate();
        java.security.KeyPair stranger = io.fedstream.schemas.SiteKeys.generate();
        io.fedstream.schemas.SiteKeys registry =
                new io.fedstream.schemas.SiteKeys(
                        Map.of(
                                "site-1",
                                List.of(
                                        new io.fedstream.schemas.SiteKeys.Entry(
                                                "k1",
                                                io.fedstream.schemas.SiteKeys.encode(
                                                        key.getPublic())))));
        UpdateValidator strict =
                new UpdateValidator(
                        Map.of(SPEC.id(), SPEC),
                        new UpdateValidator.Limits(1000, 10, 20),
                        registry);
        java.util.function.Function<AdapterUpdate, UpdateValidator.Outcome> check =
                u -> strict.validate(raw(u));

        AdapterUpdate good = update("u", 0, 5, constantDelta(0.1f)).build();
        io.fedstream.schemas.UpdateSigning.sign(good, "k1", key.getPrivate());
        AdapterUpdate unsigned = update("u", 0, 5, constantDelta(0.1f)).build();
        AdapterUpdate foreign = update("u", 0, 5, constantDelta(0.1f)).setSiteId("site-9").build();
        io.fedstream.schemas.UpdateSigning.sign(foreign, "k1", key.getPrivate());
        AdapterUpdate wrongKey = update("u", 0, 5, constantDelta(0.1f)).build();
        io.fedstream.schemas.UpdateSigning.sign(wrongKey, "k1", stranger.getPrivate());
        AdapterUpdate unknownKeyId = update("u", 0, 5, constantDelta(0.1f)).build();
        io.fedstream.schemas.UpdateSigning.sign(unknownKeyId, "k2", key.getPrivate());
        AdapterUpdate inflated = update("u", 0, 5, constantDelta(0.1f)).build();
        io.fedstream.schemas.UpdateSigning.sign(inflated, "k1", key.getPrivate());
        inflated.setNumExamples(999);

        assertThat(check.apply(good)).isInstanceOf(UpdateValidator.Accepted.class);
        assertThat(((UpdateValidator.Rejected) check.apply(unsigned)).reason())
                .isEqualTo(RejectReason.MISSING_SIGNATURE);
        assertThat(((UpdateValidator.Rejected) check.apply(foreign)).reason())
                .isEqualTo(RejectReason.UNKNOWN_SITE);
        assertThat(((UpdateValidator.Rejected) check.apply(wrongKey)).reason())
                .isEqualTo(RejectReason.BAD_SIGNATURE);
        assertThat(((UpdateValidator.Rejected) check.apply(unknownKeyId)).detail())
                .contains("'k2' is not registered");
        assertThat(((UpdateValidator.Rejected) check.apply(inflated)).reason())
                .isEqualTo(RejectReason.BAD_SIGNATURE);
    }

    // ---- chunked records ------------------------------------------------------------------

    private final io.fedstream.schemas.FederationSpec chunked3 = SPEC.withChunkElements(3);
    private final UpdateValidator chunkValidator =
            new UpdateValidator(
                    Map.of(SPEC.id(), chunked3), new UpdateValidator.Limits(1000, 10, 20));

    private io.fedstream.schemas.UpdateChunking.Chunked split(AdapterUpdate u) {
        return io.fedstream.schemas.UpdateChunking.split(u, chunked3.layout());
    }

    @Test
    void aChunkBecomesAReceiptAndDataWithTheDigestTheWorkerPutInTheManifest() {
        var c = split(update("u1", 0, 10, constantDelta(0.5f)).build());

        var parts =
                (UpdateValidator.Parts)
                        chunkValidator.parts(raw(AvroCodec.UPDATE_CHUNK.encode(c.chunks().get(1))));
        var header =
                (UpdateValidator.Parts)
                        chunkValidator.parts(raw(AvroCodec.UPDATE_MANIFEST.encode(c.manifest())));

        assertThat(parts.events()).hasSize(1);
        UpdateEvent receipt = parts.events().get(0);
        assertThat(receipt.type).isEqualTo(UpdateEvent.RECEIPT);
        assertThat(receipt.chunkIndex).isEqualTo(1);
        assertThat(receipt.sha256).isEqualTo(c.manifest().getChunkSha256().get(1));
        assertThat(receipt.sumSquares).isEqualTo(3 * 0.25);
        assertThat(receipt.hasData).isTrue();
        assertThat(parts.chunks()).singleElement().satisfies(d -> assertThat(d.data).hasSize(12));
        assertThat(header.events().get(0).type).isEqualTo(UpdateEvent.HEADER);
        assertThat(header.events().get(0).chunkSha256)
                .containsExactlyElementsOf(c.manifest().getChunkSha256());
        assertThat(header.chunks()).isEmpty();
    }

    @Test
    void aWholeUpdateIsSplitIntoTheSameChunksAWorkerWouldSend() {
        AdapterUpdate u = update("u1", 0, 10, constantDelta(0.25f)).build();
        var c = split(u);

        var parts = (UpdateValidator.Parts) chunkValidator.parts(raw(u));

        assertThat(parts.chunks()).hasSize(3);
        assertThat(parts.events()).hasSize(4);
        UpdateEvent header = parts.events().get(3);
        assertThat(header.type).isEqualTo(UpdateEvent.HEADER);
        assertThat(header.chunkSha256).containsExactlyElementsOf(c.manifest().getChunkSha256());
    }

    @Test
    void brokenChunksAreReceiptsWithAProblemOrRejected() {
        var c = split(update("u1", 0, 10, constantDelta(0.5f)).build());
        var truncated = io.fedstream.schemas.avro.UpdateChunk.newBuilder(c.chunks().get(0)).build();
        truncated.setData(ByteBuffer.wrap(new byte[5]));
        var nan = io.fedstream.schemas.avro.UpdateChunk.newBuilder(c.chunks().get(0)).build();
        nan.setData(
                ByteBuffer.wrap(
                        io.fedstream.aggregation.LittleEndianFloats.fromFloats(
                                new float[] {1, Float.NaN, 2})));
        var outOfRange =
                io.fedstream.schemas.avro.UpdateChunk.newBuilder(c.chunks().get(0)).build();
        outOfRange.setChunkIndex(3);

        var t =
                (UpdateValidator.Parts)
                        chunkValidator.parts(raw(AvroCodec.UPDATE_CHUNK.encode(truncated)));
        var n =
                (UpdateValidator.Parts)
                        chunkValidator.parts(raw(AvroCodec.UPDATE_CHUNK.encode(nan)));
        var o = chunkValidator.parts(raw(AvroCodec.UPDATE_CHUNK.encode(outOfRange)));

        assertThat(t.events().get(0).problem).isEqualTo("CORRUPT_CHUNK");
        assertThat(t.chunks()).isEmpty();
        assertThat(n.events().get(0).problem).isEqualTo("NON_FINITE");
        assertThat(n.chunks()).isEmpty();
        assertThat(((UpdateValidator.Rejected) o).reason()).isEqualTo(RejectReason.CORRUPT_CHUNK);
    }

    @Test
    void aManifestMustMatchTheFederationsLayout() {
        var m = split(update("u1", 0, 10, constantDelta(0.5f)).build()).manifest();
        var otherChunking =
                io.fedstream.schemas.avro.UpdateManifest.newBuilder(m).setChunkElements(4).build();
        var heavy =
                io.fedstream.schemas.avro.UpdateManifest.newBuilder(m).setNumExamples(5000).build();

        var r1 = chunkValidator.parts(raw(AvroCodec.UPDATE_MANIFEST.encode(otherChunking)));
        var r2 = chunkValidator.parts(raw(AvroCodec.UPDATE_MANIFEST.encode(heavy)));

        assertThat(((UpdateValidator.Rejected) r1).reason()).isEqualTo(RejectReason.MALFORMED);
        assertThat(((UpdateValidator.Rejected) r2).reason())
                .isEqualTo(RejectReason.BAD_EXAMPLE_COUNT);
    }

    /** Update u1's chunks encoded in {@code encoding} (the federation's block size 64). */
    private io.fedstream.schemas.UpdateChunking.Chunked encoded(String encoding, float value) {
        AdapterUpdate u = update("u1", 0, 10, constantDelta(value)).build();
        var layout = chunked3.layout();
        return io.fedstream.schemas.UpdateChunking.split(
                u,
                layout,
                io.fedstream.schemas.UpdateEncoding.parse(encoding),
                new io.fedstream.schemas.ErrorFeedback((int) layout.totalElements()));
    }

    private UpdateEvent receipt(io.fedstream.schemas.avro.UpdateChunk c) {
        var parts =
                (UpdateValidator.Parts) chunkValidator.parts(raw(AvroCodec.UPDATE_CHUNK.encode(c)));
        return parts.events().get(0);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"int8", "nf4"})
    void blockwiseChunksAreReadInPlaceAndBadEncodingsAreReceiptsWithTheProblem(String encoding) {
        var c = encoded(encoding, 0.5f);
        var good = c.chunks().get(2); // 2 elements
        var parts =
                (UpdateValidator.Parts)
                        chunkValidator.parts(raw(AvroCodec.UPDATE_CHUNK.encode(good)));
        assertThat(parts.events().get(0).problem).isNull();
        assertThat(parts.events().get(0).sha256).isEqualTo(c.manifest().getChunkSha256().get(2));
        assertThat(parts.events().get(0).sumSquares).isEqualTo(2 * 0.25);
        assertThat(parts.chunks())
                .singleElement()
                .satisfies(d -> assertThat(d.data).hasSize(good.getData().remaining()));

        java.util.function.Function<java.util.function.Consumer<byte[]>, UpdateEvent> mutated =
                change -> {
                    byte[] b = new byte[good.getData().remaining()];
                    good.getData().duplicate().get(b);
                    change.accept(b);
                    var m = io.fedstream.schemas.avro.UpdateChunk.newBuilder(good).build();
                    m.setData(ByteBuffer.wrap(b));
                    return receipt(m);
                };
        UpdateEvent nanScale =
                mutated.apply(
                        b -> {
                            b[6] = (byte) 0xC0;
                            b[7] = (byte) 0x7F;
                        });
        UpdateEvent block128 = mutated.apply(b -> b[0] = (byte) 128);
        UpdateEvent zeroScale = mutated.apply(b -> java.util.Arrays.fill(b, 4, 8, (byte) 0));
        UpdateEvent badCode =
                mutated.apply(b -> b[8] = (byte) (encoding.equals("int8") ? -128 : 0x00));
        var wrongLength = io.fedstream.schemas.avro.UpdateChunk.newBuilder(good).build();
        wrongLength.setData(ByteBuffer.wrap(new byte[good.getData().remaining() + 1]));

        for (UpdateEvent e : List.of(nanScale, block128, zeroScale, receipt(wrongLength))) {
            assertThat(e.problem).as(e.problemDetail).isEqualTo("BAD_ENCODING");
            assertThat(e.hasData).isFalse();
        }
        assertThat(nanScale.problemDetail).contains("chunk 2 block 0 has scale NaN");
        assertThat(block128.problemDetail)
                .contains("declares block size 128, the federation's is 64");
        assertThat(zeroScale.problemDetail).contains("has scale 0 but element 0");
        if (encoding.equals("int8")) {
            assertThat(badCode.problemDetail).contains("code -128");
        } else {
            // two NF4 elements -1 (code 0): a valid, different chunk
            assertThat(badCode.problem).isNull();
        }
    }

    @Test
    void anInlineUpdateCannotCarryABlockwiseTensor() {
        AdapterUpdate u = update("u1", 0, 10, constantDelta(0.5f)).build();
        u.getTensors().get(1).setDtype(DType.INT8);
        assertThat(reasonFor(u)).isEqualTo(RejectReason.BAD_ENCODING);
    }
}
