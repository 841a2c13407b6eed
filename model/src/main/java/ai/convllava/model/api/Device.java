package ai.convllava.model.api;

/** Where to run: AUTO picks a CUDA GPU when DJL reports one, else the CPU. */
public enum Device {
    AUTO, CPU, GPU;

    /** auto, cpu or gpu, in any case; anything else is an error that lists them. */
    public static Device parse(String s) {
        return Options.parse(Device.class, s, "--device");
    }
}
