package ai.convllava.hub;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Settings from the environment, the HTTPS/loopback rule, file names, Retry-After, variants. */
class HubSettingsTest {
    @Test
    void environmentIsReadAsHuggingfaceHubReadsIt(@TempDir Path home) throws IOException {
        HubSettings d = HubSettings.fromEnvironment(Map.of(), home);
        assertEquals(URI.create("https://huggingface.co"), d.endpoint());
        assertEquals(home.resolve(".cache/huggingface/hub"), d.cacheDir());
        assertNull(d.token());
        assertEquals(Path.of("/x/hub"), HubSettings.fromEnvironment(Map.of("HF_HOME", "/x"), home).cacheDir());
        assertEquals(Path.of("/c"), HubSettings.fromEnvironment(Map.of("HF_HOME", "/x", "HF_HUB_CACHE", "/c"), home).cacheDir());
        assertEquals(Path.of("/xdg/huggingface/hub"), HubSettings.fromEnvironment(Map.of("XDG_CACHE_HOME", "/xdg"), home).cacheDir());
        assertEquals(URI.create("https://hf-mirror.com"), HubSettings.fromEnvironment(Map.of("HF_ENDPOINT", "https://hf-mirror.com/"), home).endpoint());
        assertEquals("hf_env", HubSettings.fromEnvironment(Map.of("HF_TOKEN", "hf_env"), home).token());
        Files.createDirectories(home.resolve(".cache/huggingface"));
        Files.writeString(home.resolve(".cache/huggingface/token"), "hf_fromLogin\n");
        HubSettings s = HubSettings.fromEnvironment(Map.of(), home);
        assertEquals("hf_fromLogin", s.token());
        assertFalse(s.toString().contains("hf_fromLogin"));
        assertTrue(s.toString().contains("token=set (hidden)"));
    }

    @Test
    void onlyHttpsOrLoopbackEndpoints() {
        for (String ok : new String[] {"https://huggingface.co", "http://127.0.0.1:8080", "http://127.5.0.1", "http://localhost:1", "http://[::1]:9"}) {
            HubSettings.checkAllowed(URI.create(ok), "endpoint");
        }
        for (String bad : new String[] {"http://huggingface.co", "ftp://127.0.0.1/", "http://10.0.0.1", "http://localhost.evil.com", "file:///etc/passwd",
                                        "http://127.0.0.1.nip.io", "https://user:pw@huggingface.co"}) {
            DownloadException e = assertThrows(DownloadException.class, () -> HubSettings.checkAllowed(URI.create(bad), "endpoint"), bad);
            assertEquals(DownloadException.Kind.INSECURE, e.kind());
            assertFalse(e.getMessage().contains("pw@"), e.getMessage());
        }
        assertThrows(DownloadException.class, () -> HubSettings.fromEnvironment(Map.of("HF_ENDPOINT", "http://mirror.example"), Path.of("/")));
        assertThrows(IllegalArgumentException.class, () -> HubSettings.of(null, Path.of("/c")).withToken("hf bad token"));
    }

    @Test
    void fileNamesThatCouldEscapeAreRejectedNotSanitised() {
        for (String ok : new String[] {"config.json", "sub/dir/file.bin", ".gitattributes", "a..b", "...x"}) {
            assertEquals(ok, FileNames.check(ok));
        }
        for (String bad : new String[] {"", "/etc/x", "../evil", "a/../../b", "a/./b", "a//b", "a/", "..", "a\\b", "C:x", "c:/x",
                                        "a\u0000b", "x\ny", "CON", "aux.txt", "dir/nul", "trailing.", "trailing "}) {
            DownloadException e = assertThrows(DownloadException.class, () -> FileNames.check(bad), bad);
            assertEquals(DownloadException.Kind.BAD_FILE_NAME, e.kind());
            assertFalse(e.getMessage().contains("\n"), "a hostile name cannot forge message lines");
        }
        Path dir = Path.of("/cache/snap");
        assertEquals(Path.of("/cache/snap/a/b"), FileNames.resolveInside(dir, "a/b"));
    }

    @Test
    void retryAfterInSecondsOrAsADateAndBackoffIsBounded() {
        HttpHeaders secs = HttpHeaders.of(Map.of("Retry-After", List.of("7")), (a, b) -> true);
        assertEquals(Duration.ofSeconds(7), HubClient.retryAfter(secs).orElseThrow());
        HttpHeaders date = HttpHeaders.of(Map.of("Retry-After", List.of("Wed, 21 Oct 2015 07:28:00 GMT")), (a, b) -> true);
        assertEquals(Duration.ZERO, HubClient.retryAfter(date).orElseThrow());
        HubClient c = new HubClient(HubSettings.of(null, Path.of("/c")).withRetries(5, Duration.ofSeconds(1), Duration.ofSeconds(8)));
        DownloadException e = new DownloadException(DownloadException.Kind.SERVER, "x");
        for (int i = 1; i <= 10; i++) {
            long ms = c.waitBefore(i, e).toMillis();
            long base = Math.min(1000L << (i - 1), 8000);
            assertTrue(ms >= base * 3 / 4 && ms <= base * 5 / 4, i + ": " + ms);
        }
    }

    @Test
    void standardVariantsAndRepoFolders() {
        assertEquals(List.of("768", "1024", "1536"), ModelVariant.STANDARD.stream().map(ModelVariant::id).toList());
        assertEquals(576, ModelVariant.standard("1536").visualTokens());
        assertEquals(144, ModelVariant.standard("ConvLLaVA/ConvLLaVA-sft-768").visualTokens());
        assertEquals(List.of("ConvLLaVA/ConvLLaVA-ConvNeXt-1024", "ConvLLaVA/ConvLLaVA-sft-1024"), ModelVariant.standard("1024").repos());
        assertEquals("models--ConvLLaVA--ConvLLaVA-sft-768", RepoId.folderName("ConvLLaVA/ConvLLaVA-sft-768"));
        assertThrows(IllegalArgumentException.class, () -> ModelVariant.standard("512"));
        assertThrows(IllegalArgumentException.class, () -> RepoId.check("../x"));
        assertThrows(IllegalArgumentException.class, () -> RepoId.check("a/b/c"));
    }
}
