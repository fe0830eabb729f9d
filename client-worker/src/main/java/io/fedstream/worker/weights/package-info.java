/**
 * Reading pretrained weights from disk, model-independent: safetensors files (one or sharded, in
 * their own precision, one tensor at a time), half-precision floats, the protobuf reader under the
 * ONNX weights, and the file names and the {@code config.json} of a Hugging Face checkpoint
 * directory.
 */
package io.fedstream.worker.weights;
