package ai.convllava.model.api;

/** Where to run: AUTO picks a CUDA GPU when DJL reports one, else the CPU. */
public enum Device { AUTO, CPU, GPU }
