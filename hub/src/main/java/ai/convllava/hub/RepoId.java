package ai.convllava.hub;

import java.util.regex.Pattern;

/** Hub repository ids ({@code Org/Name}) and their cache folder names ({@code models--Org--Name}). */
final class RepoId {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}");

    private RepoId() {
    }

    static String check(String repo) {
        if (repo == null || !ID.matcher(repo).matches() || repo.contains("..") || repo.contains("--")) {
            throw new IllegalArgumentException("not a Hugging Face repository id (Org/Name): " + repo);
        }
        return repo;
    }

    /** {@code ConvLLaVA/ConvLLaVA-sft-768} -> {@code models--ConvLLaVA--ConvLLaVA-sft-768}, as huggingface_hub names it. */
    static String folderName(String repo) {
        return "models--" + check(repo).replace("/", "--");
    }
}
