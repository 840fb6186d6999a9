// Cost of prompt-cache injection on the request path: CacheInjector::inject() on a real
// Claude Code request body (tool-loop turn 2, about 75 KiB, which gets one marker), and on
// 1 MiB and 8 MiB bodies made by growing that conversation with tool_use / tool_result
// exchanges. For comparison, the same job done the naive way: QJsonDocument parse, add the
// marker, serialise (which also reorders every key, so it is not even a correct rewrite).
// Prints the median CPU time per call and MB/s of request body per CPU second.
//
//   tollgate_bench_cache_inject [fixture-body.json] [min-seconds-per-row]

#include "rewrite/CacheInjector.h"
#include "rewrite/PromptLayout.h"

#include <QByteArray>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <vector>

using namespace tollgate;

namespace {

QByteArray readFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

QString filler(int n, int seed)
{
    static const char kWords[] = "the quick brown fox jumps over a lazy dog while code streams ";
    QString text;
    text.reserve(n);
    for (int i = 0; i < n; ++i)
        text += QLatin1Char(kWords[(i * 7 + seed) % (sizeof(kWords) - 1)]);
    return text;
}

// One more round of a tool loop: an assistant text + tool_use, and the user's tool_result
// carrying some file content (about 3.5 KiB in all), with no cache_control.
QJsonArray exchange(int round)
{
    const QString id = QStringLiteral("toolu_%1").arg(round, 8, 10, QLatin1Char('0'));
    const QJsonObject assistant {
        {QStringLiteral("role"), QStringLiteral("assistant")},
        {QStringLiteral("content"),
         QJsonArray {QJsonObject {{QStringLiteral("type"), QStringLiteral("text")},
                                  {QStringLiteral("text"), filler(200, round)}},
                     QJsonObject {{QStringLiteral("type"), QStringLiteral("tool_use")},
                                  {QStringLiteral("id"), id},
                                  {QStringLiteral("name"), QStringLiteral("Read")},
                                  {QStringLiteral("input"),
                                   QJsonObject {{QStringLiteral("file_path"),
                                                 QStringLiteral("/src/module%1.cpp").arg(round)},
                                                {QStringLiteral("limit"), 2000}}}}}}};
    const QJsonObject user {
        {QStringLiteral("role"), QStringLiteral("user")},
        {QStringLiteral("content"),
         QJsonArray {QJsonObject {{QStringLiteral("type"), QStringLiteral("tool_result")},
                                  {QStringLiteral("tool_use_id"), id},
                                  {QStringLiteral("content"), filler(3200, round + 1)}}}}};
    return {assistant, user};
}

// The fixture's conversation grown to about `size` bytes: exchanges inserted before its last
// assistant/user pair, so the client's markers (two system blocks, the newest user turn) stay
// where Claude Code put them. Serialised by QJsonDocument, which is fine for an input.
QByteArray grown(const QByteArray &fixture, qsizetype size)
{
    QJsonObject root = QJsonDocument::fromJson(fixture).object();
    QJsonArray messages = root.value(QStringLiteral("messages")).toArray();
    const QJsonValue lastUser = messages.takeAt(messages.size() - 1);
    const QJsonValue lastAssistant = messages.takeAt(messages.size() - 1);
    const qsizetype perExchange = QJsonDocument(exchange(0)).toJson(QJsonDocument::Compact).size();
    const qsizetype rounds = std::max<qsizetype>(0, (size - fixture.size()) / perExchange);
    for (qsizetype round = 0; round < rounds; ++round) {
        for (const QJsonValue &message : exchange(int(round)))
            messages.append(message);
    }
    messages.append(lastAssistant);
    messages.append(lastUser);
    root.insert(QStringLiteral("messages"), messages);
    return QJsonDocument(root).toJson(QJsonDocument::Compact);
}

// The naive rewrite: a DOM round trip that marks the previous user turn's last block.
QByteArray viaQJsonDocument(const QByteArray &body)
{
    QJsonObject root = QJsonDocument::fromJson(body).object();
    QJsonArray messages = root.value(QStringLiteral("messages")).toArray();
    qsizetype at = messages.size() - 1;
    while (at >= 0
           && messages.at(at).toObject().value(QStringLiteral("role"))
               != QStringLiteral("assistant"))
        --at;
    while (at >= 0
           && messages.at(at).toObject().value(QStringLiteral("role")) != QStringLiteral("user"))
        --at;
    if (at >= 0) {
        QJsonObject message = messages.at(at).toObject();
        QJsonArray content = message.value(QStringLiteral("content")).toArray();
        QJsonObject block = content.last().toObject();
        block.insert(QStringLiteral("cache_control"),
                     QJsonObject {{QStringLiteral("type"), QStringLiteral("ephemeral")}});
        content.replace(content.size() - 1, block);
        message.insert(QStringLiteral("content"), content);
        messages.replace(at, message);
        root.insert(QStringLiteral("messages"), messages);
    }
    return QJsonDocument(root).toJson(QJsonDocument::Compact);
}

// This thread's CPU time where the platform has a per-thread clock (other load on the machine
// then does not inflate it), the wall clock elsewhere.
double cpuSecondsNow()
{
#ifdef CLOCK_THREAD_CPUTIME_ID
    timespec now {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return double(now.tv_sec) + double(now.tv_nsec) / 1e9;
#else
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
#endif
}

// Median CPU seconds of one call, over calls repeated for at least minSeconds (and 5 times).
double medianSeconds(const std::function<qsizetype()> &call, double minSeconds, qsizetype &sink)
{
    std::vector<double> samples;
    const auto start = std::chrono::steady_clock::now();
    do {
        const double before = cpuSecondsNow();
        sink += call();
        samples.push_back(cpuSecondsNow() - before);
    } while (samples.size() < 5
             || std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
                 < minSeconds);
    std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
    return samples[samples.size() / 2];
}

void printRow(const char *input, const char *method, qsizetype bytes, double seconds)
{
    std::printf("%-10s %-30s %10.1f %10.0f\n", input, method, seconds * 1e6,
                double(bytes) / seconds / 1e6);
}

} // namespace

int main(int argc, char **argv)
{
    const QString path = argc > 1 && argv[1][0] != '\0'
        ? QString::fromLocal8Bit(argv[1])
        : QStringLiteral(TOLLGATE_FIXTURES_DIR "/tool-loop.turn2.body.json");
    const double minSeconds = argc > 2 ? std::atof(argv[2]) : 1.0;
    const QByteArray fixture = readFile(path);
    if (fixture.isEmpty()) {
        std::fprintf(stderr, "cannot read %s\n", qPrintable(path));
        return 1;
    }
    const struct
    {
        const char *name;
        QByteArray body;
    } inputs[] = {{"fixture", fixture},
                  {"1 MiB", grown(fixture, 1 << 20)},
                  {"8 MiB", grown(fixture, 8 << 20)}};

    std::printf("%-10s %-30s %10s %10s\n", "body", "method", "cpu us", "MB/s");
    bool isEveryRunOk = true;
    qsizetype sink = 0;
    for (const auto &input : inputs) {
        const CacheInjector::Result probe = CacheInjector::inject(input.body, {});
        const bool isOk = probe.markersAdded == 1 && probe.clientMarkers == 3;
        isEveryRunOk = isEveryRunOk && isOk;
        std::printf("%-10s %.2f MB, %lld messages, markers added: %d%s\n", input.name,
                    double(input.body.size()) / 1e6,
                    qlonglong(QJsonDocument::fromJson(input.body)
                                  .object()
                                  .value(QStringLiteral("messages"))
                                  .toArray()
                                  .size()),
                    probe.markersAdded, isOk ? "" : "  UNEXPECTED");
        printRow(input.name, "CacheInjector::inject", input.body.size(),
                 medianSeconds([&] { return CacheInjector::inject(input.body, {}).body.size(); },
                               minSeconds, sink));
        printRow(input.name, "  of which PromptLayout::scan", input.body.size(),
                 medianSeconds([&] { return PromptLayout::scan(input.body).messages.size(); },
                               minSeconds, sink));
        printRow(
            input.name, "QJsonDocument parse+edit+write", input.body.size(),
            medianSeconds([&] { return viaQJsonDocument(input.body).size(); }, minSeconds, sink));
    }
    std::printf("(checksum %lld)\n", qlonglong(sink));
    return isEveryRunOk ? 0 : 1;
}
