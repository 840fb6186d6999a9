// Cost of the usage tee on the forwarding path: a long, realistic Anthropic SSE stream
// (thousands of content_block_delta events of 100-200 bytes) fed through ResponseObserver
// in network-sized chunks, plain and gzip-encoded. Prints CPU ns per event and MB/s of
// decoded body (CPU time, so that other load on the machine does not inflate them), and the
// wall-clock ns per event.
//
//   tollgate_bench_tee_parser [events-per-stream] [min-seconds-per-row]

#include "usage/ResponseObserver.h"

#include <QByteArray>
#include <QRandomGenerator>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <zlib.h>

using namespace tollgate;

namespace {

QByteArray event(const char *name, const QByteArray &data)
{
    return "event: " + QByteArray(name) + "\ndata: " + data + "\n\n";
}

// message_start, one text block of `deltas` deltas of 20-100 characters of text (events of
// about 120-200 bytes, as Anthropic sends them), the block's stop, message_delta and
// message_stop.
QByteArray makeStream(int deltas)
{
    QRandomGenerator random(7);
    QByteArray stream;
    stream += event("message_start",
                    R"({"type":"message_start","message":{"id":"msg_01","type":"message",)"
                    R"("role":"assistant","model":"claude-opus-4-8","content":[],)"
                    R"("stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,)"
                    R"("cache_creation_input_tokens":300,"cache_read_input_tokens":5000,)"
                    R"("cache_creation":{"ephemeral_5m_input_tokens":0,)"
                    R"("ephemeral_1h_input_tokens":300},"output_tokens":1,)"
                    R"("service_tier":"standard"}}})");
    stream += event("content_block_start",
                    R"({"type":"content_block_start","index":0,)"
                    R"("content_block":{"type":"text","text":""}})");
    static const char kWords[] = "the quick brown fox jumps over a lazy dog while tokens stream ";
    for (int i = 0; i < deltas; ++i) {
        const int length = 20 + int(random.bounded(81));
        QByteArray text;
        text.reserve(length);
        for (int j = 0; j < length; ++j)
            text += kWords[(i * 7 + j) % (sizeof(kWords) - 1)];
        stream += event("content_block_delta",
                        R"({"type":"content_block_delta","index":0,)"
                        R"("delta":{"type":"text_delta","text":")"
                            + text + "\"}}");
        if (i % 500 == 250)
            stream += event("ping", R"({"type":"ping"})");
    }
    stream += event("content_block_stop", R"({"type":"content_block_stop","index":0})");
    stream += event("message_delta",
                    R"({"type":"message_delta","delta":{"stop_reason":"end_turn",)"
                    R"("stop_sequence":null},"usage":{"output_tokens":)"
                        + QByteArray::number(deltas * 3) + "}}");
    stream += event("message_stop", R"({"type":"message_stop"})");
    return stream;
}

QByteArray gzip(const QByteArray &input)
{
    z_stream zs {};
    deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
    QByteArray out(qsizetype(deflateBound(&zs, uLong(input.size()))), Qt::Uninitialized);
    zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(input.constData()));
    zs.avail_in = uInt(input.size());
    zs.next_out = reinterpret_cast<Bytef *>(out.data());
    zs.avail_out = uInt(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(qsizetype(zs.total_out));
    deflateEnd(&zs);
    return out;
}

struct Row
{
    double nsPerEvent = 0; // CPU time: other load on the machine does not inflate it
    double megabytesPerSecond = 0; // of decoded SSE, per CPU second
    double wallNsPerEvent = 0;
    qint64 events = 0;
    bool isComplete = false;
};

Row measure(const QByteArray &body, const QByteArray &encoding, qsizetype chunk, qint64 decodedSize,
            double minSeconds)
{
    using Clock = std::chrono::steady_clock;
    ResponseObserver observer;
    Row row;
    qint64 runs = 0;
    const Clock::time_point start = Clock::now();
    const std::clock_t cpuStart = std::clock();
    double seconds = 0;
    do {
        observer.begin("text/event-stream", encoding);
        for (qsizetype at = 0; at < body.size(); at += chunk)
            observer.feed(body.constData() + at, std::min(chunk, body.size() - at));
        observer.finish();
        const ResponseObservation observation = observer.take();
        row.events = observation.eventCount;
        row.isComplete = observation.sawMessageStop && observation.openBlocks == 0
            && !observation.messageStart.isEmpty() && !observation.lastMessageDelta.isEmpty()
            && observation.decodeError.isEmpty();
        ++runs;
        seconds = std::chrono::duration<double>(Clock::now() - start).count();
    } while (seconds < minSeconds);
    const double cpuSeconds = double(std::clock() - cpuStart) / CLOCKS_PER_SEC;
    row.nsPerEvent = cpuSeconds * 1e9 / double(runs * row.events);
    row.megabytesPerSecond = double(runs * decodedSize) / cpuSeconds / 1e6;
    row.wallNsPerEvent = seconds * 1e9 / double(runs * row.events);
    return row;
}

} // namespace

int main(int argc, char **argv)
{
    const int deltas = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20000;
    const double minSeconds = argc > 2 ? std::atof(argv[2]) : 1.0;
    const QByteArray stream = makeStream(deltas);
    const QByteArray compressed = gzip(stream);

    ResponseObserver probe;
    probe.begin("text/event-stream", {});
    probe.feed(stream.constData(), stream.size());
    probe.finish();
    const qint64 events = probe.take().eventCount;
    std::printf("stream: %lld events, %.2f MB (%.0f bytes per event), gzip %.2f MB\n",
                qlonglong(events), double(stream.size()) / 1e6,
                double(stream.size()) / double(events), double(compressed.size()) / 1e6);
    std::printf("%-10s %8s %14s %12s %15s %s\n", "encoding", "chunk", "cpu ns/event", "MB/s",
                "wall ns/event", "check");

    const struct
    {
        const char *name;
        const QByteArray *body;
        QByteArray encoding;
    } inputs[] = {{"identity", &stream, QByteArray()}, {"gzip", &compressed, "gzip"}};
    bool isEveryRunComplete = true;
    for (const auto &input : inputs) {
        for (qsizetype chunk : {qsizetype(1460), qsizetype(16384), qsizetype(65536)}) {
            const Row row = measure(*input.body, input.encoding, chunk, stream.size(), minSeconds);
            const bool isOk = row.isComplete && row.events == events;
            isEveryRunComplete = isEveryRunComplete && isOk;
            std::printf("%-10s %8lld %14.1f %12.0f %15.1f %s\n", input.name, qlonglong(chunk),
                        row.nsPerEvent, row.megabytesPerSecond, row.wallNsPerEvent,
                        isOk ? "ok" : "MISMATCH");
        }
    }
    return isEveryRunComplete ? 0 : 1;
}
