package io.fedstream.worker.djl;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.fedstream.schemas.TensorSpec;
import java.util.List;
import java.util.Map;

/**
 * A block over frozen pretrained weights whose only trainable parameters are the exchanged adapter
 * tensors: what {@link AdapterModel} needs of the encoder's and the decoder's blocks.
 */
public interface AdaptedBlock extends Block {

    /** The trainable parameters by exchanged tensor name, in {@link #adapterTensors()} order. */
    Map<String, Parameter> adapterParameters();

    /** Name, shape and initialisation of every adapter tensor. */
    List<TensorSpec> adapterTensors();

    /** Restarts every dropout mask stream from one seed. */
    void seedDropout(long seed);
}
