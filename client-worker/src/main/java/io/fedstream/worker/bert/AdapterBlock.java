package io.fedstream.worker.bert;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.djl.AdaptedBlock;
import java.util.Map;

/**
 * A block over a frozen {@link BertEncoder} whose only trainable parameters are the exchanged
 * adapter tensors (LoRA matrices, task head).
 */
public interface AdapterBlock extends AdaptedBlock {

    /** The encoder inside. */
    BertEncoder encoder();

    /** Initialises all parameters (taking the pretrained weights) in {@code manager}. */
    default void initialize(NDManager manager) {
        Shape s = new Shape(1, 8);
        initialize(manager, DataType.FLOAT32, s, s, s);
    }

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
}
