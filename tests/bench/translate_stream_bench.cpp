// Delay that stream translation adds to each event: a streamed answer is fed to the
// translator one network read (one event) at a time, as Exchange does on the forwarding
// thread, and the CPU time of each feed is the time that event waits before it is written to
// the client. Both directions: an OpenAI-dialect vendor's chat.completion.chunk stream turned
// into Anthropic events for Claude Code (ChatStreamToMessages), and an Anthropic stream turned
// into chunks for an OpenAI client (MessagesStreamToChat). The usage tee every passthrough
// stream pays (SseParser alone) is printed alongside for reference.
// Prints median, p99 and max per event in microseconds.
//
//   tollgate_bench_translate_stream [streams]

#include "sse/SseParser.h"
#include "translate/ChatStreamToMessages.h"
#include "translate/MessagesStreamToChat.h"

#include <QByteArray>
#include <QList>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

using namespace tollgate;

namespace {

using Clock = std::chrono::steady_clock;

// A typical coding answer: 400 text deltas of a few words, then a tool call whose arguments
// come in 60 pieces, the finish chunk, the usage chunk and [DONE].
QList<QByteArray> openAiEvents()
{
    QList<QByteArray> events;
    const QByteArray head =
        R"({"id":"chatcmpl-b","object":"chat.completion.chunk","created":1700000000,"model":"gpt-bench","choices":[)";
    events.append(
        "data: " + head
        + R"({"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})"
        + "\n\n");
    for (int i = 0; i < 400; ++i)
        events.append("data: " + head + R"({"index":0,"delta":{"content":"word )"
                      + QByteArray::number(i) + R"( and some more text "},"finish_reason":null}]})"
                      + "\n\n");
    events.append(
        "data: " + head
        + R"({"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"Edit","arguments":""}}]},"finish_reason":null}]})"
        + "\n\n");
    for (int i = 0; i < 60; ++i) {
        const QByteArray piece = i == 0 ? R"({\"path\":\"src/main.cpp\",\"text\":\")"
                                        : (i == 59 ? R"(end\"})" : "line of code ");
        events.append("data: " + head
                      + R"({"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":")"
                      + piece + R"("}}]},"finish_reason":null}]})" + "\n\n");
    }
    events.append("data: " + head + R"({"index":0,"delta":{},"finish_reason":"tool_calls"}]})"
                  + "\n\n");
    events.append(
        "data: " + head
        + R"(],"usage":{"prompt_tokens":52000,"completion_tokens":900,"total_tokens":52900,"prompt_tokens_details":{"cached_tokens":48000}}})"
        + "\n\n");
    events.append("data: [DONE]\n\n");
    return events;
}

QList<QByteArray> anthropicEvents()
{
    QList<QByteArray> events;
    const auto event = [&events](const QByteArray &name, const QByteArray &data) {
        events.append("event: " + name + "\ndata: " + data + "\n\n");
    };
    event(
        "message_start",
        R"({"type":"message_start","message":{"id":"msg_b","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":48000,"output_tokens":1}}})");
    event("content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
    for (int i = 0; i < 400; ++i)
        event(
            "content_block_delta",
            R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word )"
                + QByteArray::number(i) + R"( and some more text "}})");
    event("content_block_stop", R"({"type":"content_block_stop","index":0})");
    event(
        "content_block_start",
        R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"Edit","input":{}}})");
    for (int i = 0; i < 60; ++i)
        event(
            "content_block_delta",
            R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"line of code "}})");
    event("content_block_stop", R"({"type":"content_block_stop","index":1})");
    event(
        "message_delta",
        R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":900}})");
    event("message_stop", R"({"type":"message_stop"})");
    return events;
}

struct Figures
{
    double median = 0;
    double p99 = 0;
    double max = 0;
    qsizetype bytesOut = 0;
};

// feed: one event in, bytes out. Returns per-event microseconds over all streams.
Figures measure(const QList<QByteArray> &events, int streams,
                const std::function<std::function<qsizetype(const QByteArray &)>()> &makeStream)
{
    std::vector<double> samples;
    samples.reserve(size_t(events.size()) * size_t(streams));
    qsizetype out = 0;
    for (int s = 0; s < streams; ++s) {
        auto feed = makeStream();
        for (const QByteArray &event : events) {
            const auto start = Clock::now();
            out += feed(event);
            samples.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        }
    }
    std::sort(samples.begin(), samples.end());
    Figures f;
    f.median = samples[samples.size() / 2];
    f.p99 = samples[samples.size() * 99 / 100];
    f.max = samples.back();
    f.bytesOut = out / streams;
    return f;
}

void print(const char *name, qsizetype events, const Figures &f)
{
    std::printf("%-44s %6lld events  p50 %6.2f us  p99 %6.2f us  max %7.2f us  %7lld bytes out\n",
                name, static_cast<long long>(events), f.median, f.p99, f.max,
                static_cast<long long>(f.bytesOut));
}

} // namespace

int main(int argc, char **argv)
{
    const int streams = argc > 1 ? std::max(1, std::atoi(argv[1])) : 200;
    const QList<QByteArray> openAi = openAiEvents();
    const QList<QByteArray> anthropic = anthropicEvents();
    std::printf("per-event delay of stream translation, %d streams each (CPU time of one feed)\n",
                streams);

    print("tee only (SseParser, passthrough streams)", anthropic.size(),
          measure(anthropic, streams, [] {
              auto parser = std::make_shared<SseParser>([](const SseEvent &) {},
                                                        [](QByteArrayView) { return true; });
              return [parser](const QByteArray &event) {
                  parser->feed(event.constData(), event.size());
                  return qsizetype(0);
              };
          }));
    print("OpenAI vendor -> Anthropic client", openAi.size(), measure(openAi, streams, [] {
              auto translator = std::make_shared<ChatStreamToMessages>(QStringLiteral("gpt-bench"));
              return [translator](const QByteArray &event) {
                  return translator->feed(event.constData(), event.size()).size();
              };
          }));
    print("Anthropic -> OpenAI client", anthropic.size(), measure(anthropic, streams, [] {
              auto translator =
                  std::make_shared<MessagesStreamToChat>(QStringLiteral("claude-sonnet-4-6"), true);
              return [translator](const QByteArray &event) {
                  return translator->feed(event.constData(), event.size()).size();
              };
          }));
    return 0;
}
