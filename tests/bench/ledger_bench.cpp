// Cost of the request log per request: a finished request's record accounted
// (UsageAccountant: usage and facts read, cost, headers masked) and written to a SQLite
// request log in the batches the ledger writes (LedgerStore), as the ledger thread does for
// every request. Prints CPU microseconds per row for each step (CPU time, so that other
// load on the machine does not inflate them).
//
//   tollgate_bench_ledger [rows] [batch]

#include "keys/SecretRedactor.h"
#include "store/LedgerStore.h"
#include "usage/PriceTable.h"
#include "usage/UsageAccountant.h"

#include <QCoreApplication>
#include <QTemporaryDir>
#include <cstdio>
#include <cstdlib>
#include <ctime>

using namespace tollgate;

namespace {

double cpuSeconds()
{
    timespec t {};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

// A streamed request as the proxy hands it over: headers, facts read, the usage events kept.
RequestRecord finishedRequest(quint64 id)
{
    RequestRecord record;
    record.id = id;
    record.startedAt = QDateTime::currentDateTimeUtc();
    record.method = "POST";
    record.target = "/v1/messages?beta=true";
    record.sessionId = "4e580bf0-743a-437e-8de0-14e327152c1e";
    record.status = 200;
    record.isStreaming = true;
    record.isComplete = true;
    record.ttfbUs = 1200;
    record.totalUs = 250000;
    record.requestBytes = 74950;
    record.responseBytes = 4100;
    record.virtualKeyAlias = QStringLiteral("default");
    record.upstreamKeyAlias = QStringLiteral("main");
    record.userAgent = "claude-cli/2.0.0 (external, cli)";
    record.rawRequestHeaders.append("x-api-key", "tg-bench-0123456789abcdef");
    record.rawRequestHeaders.append("anthropic-version", "2023-06-01");
    record.rawRequestHeaders.append("anthropic-beta", "claude-code-20250219,oauth-2025-04-20");
    record.rawRequestHeaders.append("content-type", "application/json");
    record.rawResponseHeaders.append("content-type", "text/event-stream");
    record.rawResponseHeaders.append("request-id", "req_011CU" + QByteArray::number(id));
    RequestFacts facts;
    facts.model = QStringLiteral("claude-opus-4-8");
    facts.sessionId = record.sessionId;
    facts.project = QStringLiteral("/home/dev/shop");
    record.requestFacts = RequestFacts::ready(facts);
    record.response.isSse = true;
    record.response.messageStart =
        R"({"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant",)"
        R"("model":"claude-opus-4-8","content":[],"stop_reason":null,"usage":{"input_tokens":12,)"
        R"("cache_creation_input_tokens":300,"cache_read_input_tokens":5000,"cache_creation":)"
        R"({"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":300},"output_tokens":1}}})";
    record.response.lastMessageDelta =
        R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}})";
    record.response.sawMessageStop = true;
    record.response.eventCount = 40;
    return record;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const int rows = argc > 1 ? std::atoi(argv[1]) : 20000;
    const int batch = argc > 2 ? std::atoi(argv[2]) : 256;
    QTemporaryDir dir;
    LedgerStore store(StoreConfig::sqlite(dir.filePath(QStringLiteral("requests.sqlite"))));
    QString error;
    if (!store.open(&error)) {
        std::fprintf(stderr, "cannot open the request log: %s\n", qPrintable(error));
        return 1;
    }
    const PriceTable prices = PriceTable::builtIn();
    const SecretRedactor redactor({"tg-bench-0123456789abcdef"});
    const UsageAccountant accountant(prices, redactor);

    QList<RequestRecord> records;
    for (int i = 0; i < rows; ++i)
        records.append(finishedRequest(quint64(i)));
    double t0 = cpuSeconds();
    for (RequestRecord &record : records)
        accountant.account(record);
    const double accountSeconds = cpuSeconds() - t0;

    t0 = cpuSeconds();
    for (int first = 0; first < rows; first += batch) {
        if (!store.insert(records.mid(first, batch), &error)) {
            std::fprintf(stderr, "insert failed: %s\n", qPrintable(error));
            return 1;
        }
    }
    const double insertSeconds = cpuSeconds() - t0;
    std::printf("rows %d, batch %d\n", rows, batch);
    std::printf("account: %.2f us CPU per row\n", accountSeconds * 1e6 / rows);
    std::printf("insert (SQLite): %.2f us CPU per row\n", insertSeconds * 1e6 / rows);
    return 0;
}
