package ai.convllava.model.engine;

/** Where to run: AUTO picks a CUDA GPU when DJL reports one, else the CPU. */
public enum Device { AUTO, CPU, GPU }
