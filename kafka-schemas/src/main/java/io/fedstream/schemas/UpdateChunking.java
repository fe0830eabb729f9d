package io.fedstream.schemas;

import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.DType;
import io.fedstream.schemas.avro.Tensor;
import io.fedstream.schemas.avro.TensorInfo;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Cuts a whole update into the {@link UpdateChunk}s and {@link UpdateManifest} a worker sends, and
 * joins them back (the audit). The chunks follow the federation's {@link ChunkLayout}.
 */
public final class UpdateChunking {
    private UpdateChunking() {}

    /** An update as it travels: every chunk, then the manifest. */
    public record Chunked(List<UpdateChunk> chunks, UpdateManifest manifest) {}

    /**
     * The chunks and (unsigned) manifest of {@code u}, whose tensors must have the layout's names,
     * shapes and order. Chunks are in the tensors' common dtype (FLOAT32 if they differ).
     */
    public static Chunked split(AdapterUpdate u, ChunkLayout layout) {
        List<String> names = new ArrayList<>();
        List<List<Integer>> shapes = new ArrayList<>();
        for (Tensor t : u.getTensors()) {
            names.add(t.getName());
            shapes.add(t.getShape());
        }
        if (!layout.matches(names, shapes)) {
            throw new IllegalArgumentException(
                    "update " + u.getUpdateId() + " does not have the federation's tensor layout");
        }
        ChunkLayout.Split split = layout.split(u.getTensors());
        return chunked(u, layout, split.dtype(), split.chunks());
    }

    /**
     * The chunks and (unsigned) manifest of {@code u} (float32 tensors in the layout's order) in
     * {@code encoding}, through the site's error {@code feedback}: what this update's encoding
     * loses is carried into the next one.
     */
    public static Chunked split(
            AdapterUpdate u, ChunkLayout layout, UpdateEncoding encoding, ErrorFeedback feedback) {
        byte[][] data = feedback.encode(layout.flatten(u.getTensors()), layout, encoding);
        return chunked(u, layout, encoding.dtype(), data);
    }

    /**
     * The chunks and (unsigned) manifest of {@code u} with its delta already encoded chunk by
     * chunk, e.g. by {@link ErrorFeedback#encode}: {@code u}'s tensors give the names, shapes and
     * the metadata, {@code data} the chunks' bytes in {@code dtype}.
     */
    public static Chunked chunked(AdapterUpdate u, ChunkLayout layout, DType dtype, byte[][] data) {
        if (data.length != layout.chunkCount()) {
            throw new IllegalArgumentException(
                    data.length + " chunks, the layout has " + layout.chunkCount());
        }
        List<UpdateChunk> chunks = new ArrayList<>(layout.chunkCount());
        List<String> digests = new ArrayList<>(layout.chunkCount());
        for (int c = 0; c < layout.chunkCount(); c++) {
            digests.add(ChunkLayout.updateChunkSha256(dtype, data[c]));
            chunks.add(
                    UpdateChunk.newBuilder()
                            .setUpdateId(u.getUpdateId())
                            .setFederationId(u.getFederationId())
                            .setSiteId(u.getSiteId())
                            .setChunkIndex(c)
                            .setChunkCount(layout.chunkCount())
                            .setDtype(dtype)
                            .setData(ByteBuffer.wrap(data[c]))
                            .build());
        }
        List<TensorInfo> infos = new ArrayList<>();
        for (Tensor t : u.getTensors()) {
            infos.add(
                    TensorInfo.newBuilder()
                            .setName(t.getName())
                            .setShape(new ArrayList<>(t.getShape()))
                            .setDtype(dtype)
                            .build());
        }
        UpdateManifest m =
                UpdateManifest.newBuilder()
                        .setUpdateId(u.getUpdateId())
                        .setFederationId(u.getFederationId())
                        .setSiteId(u.getSiteId())
                        .setBaseVersion(u.getBaseVersion())
                        .setNumExamples(u.getNumExamples())
                        .setMetrics(u.getMetrics())
                        .setTensors(infos)
                        .setChunkElements(layout.chunkElements())
                        .setChunkSha256(digests)
                        .setCreatedAtMs(u.getCreatedAtMs())
                        .build();
        return new Chunked(chunks, m);
    }

    /**
     * The whole update the manifest describes, from chunks by index that match its digests (a chunk
     * that does not is an error), or null if a chunk is missing. The result has no signature.
     */
    public static AdapterUpdate join(UpdateManifest m, Map<Integer, UpdateChunk> chunks) {
        List<String> names = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>();
        for (TensorInfo t : m.getTensors()) {
            names.add(t.getName());
            shapes.add(t.getShape().stream().mapToInt(Integer::intValue).toArray());
        }
        ChunkLayout layout = ChunkLayout.of(names, shapes, m.getChunkElements());
        if (m.getChunkSha256().size() != layout.chunkCount() || m.getTensors().isEmpty()) {
            throw new IllegalArgumentException(
                    "manifest of "
                            + m.getUpdateId()
                            + " names "
                            + m.getChunkSha256().size()
                            + " chunks, its layout has "
                            + layout.chunkCount());
        }
        DType dtype = m.getTensors().get(0).getDtype();
        // blockwise chunks are decoded (exactly as the job's kernel reads them) into FLOAT32
        boolean decode = BlockQuantization.quantized(dtype);
        int es = decode ? 4 : TensorCodec.elementSize(dtype);
        byte[][] tensors = new byte[layout.tensorCount()][];
        for (int t = 0; t < tensors.length; t++) {
            tensors[t] = new byte[layout.tensorSize(t) * es];
        }
        for (int c = 0; c < layout.chunkCount(); c++) {
            UpdateChunk chunk = chunks.get(c);
            if (chunk == null) {
                return null;
            }
            if (chunk.getDtype() != dtype
                    || !ChunkLayout.updateChunkSha256(chunk.getDtype(), chunk.getData())
                            .equals(m.getChunkSha256().get(c))) {
                throw new IllegalArgumentException(
                        "chunk " + c + " of " + m.getUpdateId() + " does not match its digest");
            }
            ByteBuffer data = chunk.getData().duplicate();
            if (decode) {
                data = decoded(dtype, chunk.getData(), layout.chunkLength(c));
            }
            long flat = layout.chunkStart(c);
            int left = layout.chunkLength(c);
            while (left > 0) {
                int t = layout.tensorOf(flat);
                int off = (int) (flat - layout.tensorStart(t));
                int n = Math.min(left, layout.tensorSize(t) - off);
                data.get(tensors[t], off * es, n * es);
                flat += n;
                left -= n;
            }
        }
        List<Tensor> out = new ArrayList<>();
        for (int t = 0; t < tensors.length; t++) {
            out.add(
                    Tensor.newBuilder()
                            .setName(names.get(t))
                            .setShape(new ArrayList<>(m.getTensors().get(t).getShape()))
                            .setDtype(decode ? DType.FLOAT32 : dtype)
                            .setData(ByteBuffer.wrap(tensors[t]))
                            .build());
        }
        return AdapterUpdate.newBuilder()
                .setUpdateId(m.getUpdateId())
                .setFederationId(m.getFederationId())
                .setSiteId(m.getSiteId())
                .setBaseVersion(m.getBaseVersion())
                .setNumExamples(m.getNumExamples())
                .setMetrics(m.getMetrics())
                .setTensors(out)
                .setCreatedAtMs(m.getCreatedAtMs())
                .build();
    }

    /** A valid blockwise chunk of {@code n} elements as little-endian float32 bytes. */
    private static ByteBuffer decoded(DType dtype, ByteBuffer data, int n) {
        byte[] bytes = new byte[data.remaining()];
        data.duplicate().get(bytes);
        String problem =
                BlockQuantization.problem(
                        bytes,
                        dtype,
                        n,
                        bytes.length >= 4 ? BlockQuantization.blockSize(bytes) : 0);
        if (problem != null) {
            throw new IllegalArgumentException("a " + dtype + " chunk " + problem);
        }
        float[] values = new float[n];
        BlockQuantization.decode(bytes, dtype, n, values, 0);
        ByteBuffer out = ByteBuffer.allocate(4 * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        out.asFloatBuffer().put(values);
        return out;
    }
}
