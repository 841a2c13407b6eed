package ai.convllava.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static ai.convllava.server.ServerFixture.parse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A client that leaves mid-stream stops its generation; 100 requests at once are each answered or queued. */
class DisconnectAndQueueTest {
    /** A streamed request with a long answer to come; returns the socket once the first text chunk has arrived. */
    static Socket streamUntilFirstToken(ServerFixture f, int maxTokens) throws IOException {
        String body = ServerFixture.simpleRequest(true).replace("\"max_tokens\": 16", "\"max_tokens\": " + maxTokens);
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        Socket s = new Socket("127.0.0.1", f.server.port());
        s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().write(b);
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.contains("\"delta\":{\"content\":\"") && !line.contains("\"content\":\"\"")) {
                return s;
            }
        }
        throw new AssertionError("the stream ended before its first token");
    }

    @Test
    void aClientThatLeavesMidStreamCancelsItsGeneration() throws Exception {
        try (ServerFixture f = ServerFixture.start()) {
            int max = 3000; // far more than are generated before the server notices (it notices at its next writes)
            Socket s = streamUntilFirstToken(f, max);
            s.setSoLinger(true, 0); // leave at once, unread data and all, as a killed client does
            s.close();
            OpenAiServer.RequestLog log = f.finished.poll(120, TimeUnit.SECONDS);
            assertNotNull(log, "the server never finished the request");
            assertTrue(log.clientGone(), log.toString());
            assertEquals("cancelled", log.finishReason(), log.toString());
            assertTrue(log.completionTokens() < max, log.toString());
            // and the model is free for the next one
            assertEquals(200, f.chat(ServerFixture.simpleRequest(false)).statusCode());
        }
    }

    @Test
    void aHundredConcurrentRequestsAreAllAnsweredOrRefusedClearly() throws Exception {
        // a queue of 20: some are queued (X-Queue-Position > 0), the rest beyond it get 429 with the numbers
        try (ServerFixture f = new ServerFixture(ServerOptions.defaults().withPort(0).withMaxQueued(20))) {
            String body = ServerFixture.simpleRequest(false).replace("\"max_tokens\": 16", "\"max_tokens\": 8");
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                all.add(f.client.sendAsync(f.post(body).build(), HttpResponse.BodyHandlers.ofString()));
            }
            int ok = 0;
            int busy = 0;
            int maxPosition = 0;
            for (CompletableFuture<HttpResponse<String>> c : all) {
                HttpResponse<String> r = c.get(300, TimeUnit.SECONDS);
                if (r.statusCode() == 200) {
                    ok++;
                    assertEquals(8, parse(r.body()).at("/usage/completion_tokens").asInt());
                    maxPosition = Math.max(maxPosition, Integer.parseInt(r.headers().firstValue("X-Queue-Position").orElseThrow()));
                } else {
                    assertEquals(429, r.statusCode(), r.body());
                    JsonNode e = parse(r.body()).get("error");
                    assertEquals("queue_full", e.get("code").asText());
                    assertTrue(e.get("message").asText().contains("the limit is 21"), e.toString());
                    busy++;
                }
            }
            assertEquals(100, ok + busy);
            assertTrue(ok >= 21, ok + " answered");
            assertTrue(maxPosition >= 1, "some waited in the queue (max position " + maxPosition + ")");
            assertEquals(200, f.chat(body).statusCode(), "still serving");
        }
    }

    @Test
    void aHundredConcurrentRequestsWithRoomAreAllAnsweredInOrderOfTheQueue() throws Exception {
        try (ServerFixture f = new ServerFixture(ServerOptions.defaults().withPort(0).withMaxQueued(100))) {
            String body = ServerFixture.simpleRequest(false).replace("\"max_tokens\": 16", "\"max_tokens\": 4");
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                all.add(f.client.sendAsync(f.post(body).build(), HttpResponse.BodyHandlers.ofString()));
            }
            int maxPosition = 0;
            for (CompletableFuture<HttpResponse<String>> c : all) {
                HttpResponse<String> r = c.get(300, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                maxPosition = Math.max(maxPosition, parse(r.body()).at("/convllava/queue_position").asInt());
            }
            assertTrue(maxPosition >= 1, "max position " + maxPosition);
        }
    }

    @Test
    void aStreamedRequestHearsItsPositionMoveUp() throws Exception {
        try (ServerFixture f = ServerFixture.start()) {
            // one long answer holds the model while a second, streamed request waits behind it
            Socket first = streamUntilFirstToken(f, 3000);
            try (Socket second = new Socket("127.0.0.1", f.server.port())) {
                byte[] b = ServerFixture.simpleRequest(true).getBytes(StandardCharsets.UTF_8);
                second.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Connection: close\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                second.getOutputStream().write(b);
                BufferedReader in = new BufferedReader(new InputStreamReader(second.getInputStream(), StandardCharsets.UTF_8));
                List<String> lines = new ArrayList<>();
                for (String line; (line = in.readLine()) != null && !line.equals(": queue-position 1"); ) {
                    lines.add(line);
                }
                assertTrue(lines.contains("X-queue-position: 1") || lines.contains("X-Queue-Position: 1"), lines.toString());
                first.setSoLinger(true, 0);
                first.close(); // leaving frees the model for the second
                boolean movedUp = false;
                boolean done = false;
                for (String line; (line = in.readLine()) != null; ) {
                    movedUp |= line.equals(": queue-position 0");
                    done |= line.equals("data: [DONE]");
                }
                assertTrue(movedUp && done, "moved up " + movedUp + ", done " + done);
            }
        }
    }

    @Test
    void aStreamedRequestThatLeavesTheQueueIsDroppedWithoutRunning() throws Exception {
        // a short heartbeat: the waiting request writes a keep-alive comment soon after its client left, and finds it gone
        try (ServerFixture f = new ServerFixture(ServerOptions.defaults().withPort(0).withHeartbeatMillis(20))) {
            Socket first = streamUntilFirstToken(f, 3000);
            Socket second = new Socket("127.0.0.1", f.server.port());
            byte[] b = ServerFixture.simpleRequest(true).getBytes(StandardCharsets.UTF_8);
            second.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                    + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            second.getOutputStream().write(b);
            BufferedReader in = new BufferedReader(new InputStreamReader(second.getInputStream(), StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null && !line.equals(": queue-position 1"); ) {
                // headers, up to the first position comment: it is queued
            }
            second.setSoLinger(true, 0);
            second.close();
            // the first is still writing its 3000 tokens: the first request to end is the one that left the queue
            OpenAiServer.RequestLog queued = f.finished.poll(120, TimeUnit.SECONDS);
            assertNotNull(queued);
            assertTrue(queued.clientGone(), queued.toString());
            assertEquals("cancelled", queued.finishReason(), queued.toString());
            assertEquals(0, queued.promptTokens(), "it never ran: " + queued);
            first.setSoLinger(true, 0);
            first.close();
            OpenAiServer.RequestLog running = f.finished.poll(120, TimeUnit.SECONDS);
            assertNotNull(running);
            assertEquals("cancelled", running.finishReason(), running.toString());
            assertTrue(running.promptTokens() > 0 && running.completionTokens() < 3000, running.toString());
        }
    }
}
