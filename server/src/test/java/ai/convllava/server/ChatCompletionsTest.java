package ai.convllava.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import static ai.convllava.server.ServerFixture.QUESTION;
import static ai.convllava.server.ServerFixture.WIDE;
import static ai.convllava.server.ServerFixture.dataUrl;
import static ai.convllava.server.ServerFixture.golden;
import static ai.convllava.server.ServerFixture.parse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Answers over HTTP on the tiny model: the same tokens as the Python reference, streamed or not, with usage and our extensions. */
class ChatCompletionsTest {
    static ServerFixture f;

    @BeforeAll
    static void start() throws IOException {
        f = ServerFixture.start();
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    @Test
    void aCompletionIsTheReferenceAnswerWithUsageAndGeometry() throws IOException {
        HttpResponse<String> r = f.chat(ServerFixture.simpleRequest(false));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("X-Queue-Position").isPresent());
        JsonNode j = parse(r.body());
        JsonNode want = golden().get("generated").get("wide.pad");
        assertEquals("chat.completion", j.get("object").asText());
        assertEquals("tiny-convllava", j.get("model").asText());
        assertEquals(want.get("text").asText(), j.at("/choices/0/message/content").asText());
        assertEquals("assistant", j.at("/choices/0/message/role").asText());
        assertEquals("length", j.at("/choices/0/finish_reason").asText());
        assertEquals(want.get("sequence_length").asInt(), j.at("/usage/prompt_tokens").asInt());
        assertEquals(16, j.at("/usage/completion_tokens").asInt());
        assertEquals(want.get("sequence_length").asInt() + 16, j.at("/usage/total_tokens").asInt());
        JsonNode geo = j.at("/convllava/geometry");
        assertEquals(List.of(256, 256), List.of(geo.at("/canvas/0").asInt(), geo.at("/canvas/1").asInt()));
        assertEquals(List.of(4, 4), List.of(geo.at("/grid/0").asInt(), geo.at("/grid/1").asInt()));
        assertEquals(16, geo.get("image_tokens").asInt());
        assertTrue(j.at("/convllava/image_attention").isMissingNode(), "attention only when asked for");
    }

    @Test
    void aStreamIsTheSameAnswerInChunksThenUsageThenDone() throws IOException {
        String body = ServerFixture.simpleRequest(true).replace("\"stream\": true", "\"stream\": true, \"stream_options\": {\"include_usage\": true}");
        HttpResponse<String> r = f.chat(body);
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<JsonNode> chunks = new ArrayList<>();
        List<String> comments = new ArrayList<>();
        boolean done = false;
        for (String event : r.body().split("\n\n")) {
            assertTrue(!done, "nothing after [DONE]");
            if (event.startsWith(":")) {
                comments.add(event);
            } else if (event.equals("data: [DONE]")) {
                done = true;
            } else {
                assertTrue(event.startsWith("data: "), event);
                chunks.add(parse(event.substring(6)));
            }
        }
        assertTrue(done);
        assertTrue(comments.get(0).startsWith(": queue-position "), comments.toString());
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            assertEquals("chat.completion.chunk", c.get("object").asText());
            if (c.get("choices").size() > 0) {
                text.append(c.at("/choices/0/delta/content").asText(""));
            }
        }
        assertEquals("assistant", chunks.get(0).at("/choices/0/delta/role").asText());
        assertEquals(golden().get("generated").get("wide.pad").get("text").asText(), text.toString());
        JsonNode last = chunks.get(chunks.size() - 2);
        assertEquals("length", last.at("/choices/0/finish_reason").asText());
        assertEquals(4, last.at("/convllava/geometry/grid/0").asInt());
        JsonNode usage = chunks.get(chunks.size() - 1);
        assertEquals(0, usage.get("choices").size());
        assertEquals(16, usage.at("/usage/completion_tokens").asInt());
    }

    @Test
    void imageAttentionOnRequestHasOneMapPerTokenOverTheGrid() {
        String body = ServerFixture.simpleRequest(false).replace("\"max_tokens\": 16", "\"max_tokens\": 4, \"convllava\": {\"image_attention\": true}");
        HttpResponse<String> r = f.chat(body);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode att = parse(r.body()).at("/convllava/image_attention");
        assertEquals(4, att.size()); // one per generated token
        assertEquals(2, att.get(0).size()); // layers
        assertEquals(16, att.get(0).get(0).size()); // 4 x 4 image tokens
        double sum = 0;
        for (JsonNode v : att.get(0).get(0)) {
            sum += v.asDouble();
        }
        assertTrue(sum > 0 && sum <= 1.0001, "a probability mass over the image (got " + sum + ")");
    }

    @Test
    void aStopStringEndsTheAnswerBeforeIt() throws IOException {
        String full = golden().get("generated").get("wide.pad").get("text").asText();
        String stop = "époc"; // inside the reference answer, across token pieces
        String body = ServerFixture.simpleRequest(false).replace("\"max_tokens\": 16", "\"max_tokens\": 16, \"stop\": [\"" + stop + "\"]");
        JsonNode j = parse(f.chat(body).body());
        assertEquals(full.substring(0, full.indexOf(stop)), j.at("/choices/0/message/content").asText());
        assertEquals("stop", j.at("/choices/0/finish_reason").asText());
        assertTrue(j.at("/usage/completion_tokens").asInt() < 16);
    }

    @Test
    void aFollowUpThatRepeatsTheConversationReusesTheKvCache() {
        JsonNode first = parse(f.chat(ServerFixture.simpleRequest(false)).body());
        String answer = first.at("/choices/0/message/content").asText();
        String followUp = """
                {"model": "tiny-convllava", "max_tokens": 4, "temperature": 0,
                 "messages": [{"role": "user", "content": [{"type": "text", "text": "%s"}, {"type": "image_url", "image_url": {"url": "%s"}}]},
                              {"role": "assistant", "content": %s},
                              {"role": "user", "content": "And the shortest?"}]}
                """.formatted(QUESTION, dataUrl(WIDE), ServerFixture.JSON.valueToTree(answer).toString());
        JsonNode second = parse(f.chat(followUp).body());
        int prompt = second.at("/usage/prompt_tokens").asInt();
        int cached = second.at("/usage/prompt_tokens_details/cached_tokens").asInt();
        int firstPrompt = first.at("/usage/prompt_tokens").asInt();
        // the first question's prompt and its answer were in the cache: only the new turn was read
        assertTrue(cached >= firstPrompt, "cached " + cached + " of " + prompt + " (the first prompt had " + firstPrompt + ")");
        assertTrue(prompt - cached < 20, "cached " + cached + " of " + prompt);
    }

    @Test
    void modelsListsTheLoadedModel() {
        HttpResponse<String> r = f.send(HttpRequest.newBuilder(f.uri("/v1/models")).GET().build());
        assertEquals(200, r.statusCode());
        JsonNode j = parse(r.body());
        assertEquals("list", j.get("object").asText());
        assertEquals("tiny-convllava", j.at("/data/0/id").asText());
        assertEquals(4096, j.at("/data/0/convllava/context_tokens").asInt());
    }
}
