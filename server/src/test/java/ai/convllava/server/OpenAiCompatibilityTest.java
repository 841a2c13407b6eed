package ai.convllava.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static ai.convllava.server.ServerFixture.parse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The request shapes of the OpenAI Python client (resources/openai-python), headers and all, answered as the client expects. */
class OpenAiCompatibilityTest {
    static ServerFixture f;

    @BeforeAll
    static void start() throws IOException {
        f = new ServerFixture(ServerOptions.defaults().withPort(0).withApiKey("sk-local"));
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    static JsonNode fixture(String name) throws IOException {
        try (InputStream in = OpenAiCompatibilityTest.class.getResourceAsStream("/openai-python/" + name)) {
            String s = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return parse(s.replace("${IMAGE_DATA_URL}", ServerFixture.dataUrl(ServerFixture.WIDE)));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"basic.json", "stream-include-usage.json", "stream-obfuscation-off.json", "multi-turn-developer.json", "multi-part-text.json"})
    void theClientsRequestIsAnsweredAsItExpects(String name) throws IOException {
        JsonNode fx = fixture(name);
        HttpRequest.Builder b = HttpRequest.newBuilder(f.uri("/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(fx.get("body").toString(), StandardCharsets.UTF_8));
        for (Iterator<Map.Entry<String, JsonNode>> it = fx.get("headers").properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> h = it.next();
            b.header(h.getKey(), h.getValue().asText());
        }
        HttpResponse<String> r = f.send(b.build());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode expect = fx.get("expect");
        String text;
        String finish;
        JsonNode usage = null;
        JsonNode extension;
        if (expect.get("stream").asBoolean()) {
            List<JsonNode> chunks = new ArrayList<>();
            String[] events = r.body().split("\n\n");
            assertEquals("data: [DONE]", events[events.length - 1]);
            for (String e : events) {
                if (e.startsWith("data: {")) {
                    chunks.add(parse(e.substring(6)));
                }
            }
            StringBuilder sb = new StringBuilder();
            finish = null;
            extension = null;
            for (JsonNode c : chunks) {
                assertEquals("chat.completion.chunk", c.get("object").asText());
                assertTrue(c.get("id").asText().startsWith("chatcmpl-"));
                if (c.get("choices").size() > 0) {
                    sb.append(c.at("/choices/0/delta/content").asText(""));
                    if (!c.at("/choices/0/finish_reason").isNull()) {
                        finish = c.at("/choices/0/finish_reason").asText();
                        extension = c.get("convllava");
                    }
                } else {
                    usage = c.get("usage");
                }
            }
            text = sb.toString();
            assertEquals(expect.get("usage").asBoolean(), usage != null, "a usage chunk exactly when include_usage");
        } else {
            JsonNode j = parse(r.body());
            assertEquals("chat.completion", j.get("object").asText());
            text = j.at("/choices/0/message/content").asText();
            finish = j.at("/choices/0/finish_reason").asText();
            usage = j.get("usage");
            extension = j.get("convllava");
        }
        assertFalse(text.isEmpty());
        if (expect.has("golden")) {
            assertEquals(ServerFixture.golden().get("generated").get(expect.get("golden").asText()).get("text").asText(), text);
        }
        if (expect.has("finish_reason")) {
            assertEquals(expect.get("finish_reason").asText(), finish);
        }
        if (expect.has("finish_reason_in")) {
            assertTrue(expect.get("finish_reason_in").toString().contains("\"" + finish + "\""), finish);
        }
        if (expect.has("completion_tokens")) {
            assertEquals(expect.get("completion_tokens").asInt(), usage.get("completion_tokens").asInt());
            assertEquals(usage.get("prompt_tokens").asInt() + usage.get("completion_tokens").asInt(), usage.get("total_tokens").asInt());
        }
        if (expect.has("grid")) {
            assertEquals(expect.get("grid"), extension.at("/geometry/grid"));
        }
        if (expect.has("attention_steps")) {
            assertEquals(expect.get("attention_steps").asInt(), extension.get("image_attention").size());
        }
    }
}
