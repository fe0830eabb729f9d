package io.fedstream.worker.bert;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import java.util.List;
import java.util.Map;

/**
 * A block over a frozen {@link BertEncoder} whose only trainable parameters are the exchanged
 * adapter tensors (LoRA matrices, task head).
 */
public interface AdapterBlock extends Block {

    /** The encoder inside. */
    BertEncoder encoder();

    /** The trainable parameters by exchanged tensor name, in {@link #adapterTensors()} order. */
    Map<String, Parameter> adapterParameters();

    /** Name, shape and initialisation of every adapter tensor. */
    List<TensorSpec> adapterTensors();

    /** The frozen pretrained parameters by Hugging Face name; never exchanged. */
    Map<String, Parameter> baseParameters();

    /**
     * The federation contract of this block: exactly the tensors {@link #adapterParameters()}
     * holds. Version 0 ({@link FederationSpec#initialValues()}) is the standard LoRA start: {@code
     * A} uniform in {@code ±1/sqrt(in)} (PyTorch's and PEFT's Kaiming-uniform bound), {@code B}
     * zero, so version 0 computes exactly the pretrained model.
     *
     * @throws IllegalArgumentException if the block has no adapter tensors (no LoRA, no head)
     */
    default FederationSpec adapterSpec(String federationId, long seed) {
        return new FederationSpec(federationId, seed, adapterTensors());
    }

    /** Restarts every dropout mask stream from one seed. */
    void seedDropout(long seed);
}
