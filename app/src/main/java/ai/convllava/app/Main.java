package ai.convllava.app;

public final class Main {
    private Main() {}
    public static void main(String[] args) {
        System.out.println("ConvLLaVA Desktop");
    }
}
