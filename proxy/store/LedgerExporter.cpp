#include "LedgerExporter.h"

#include "http/ErrorResponse.h"
#include "usage/PriceTable.h"

#include <QDateTime>

namespace tollgate {

namespace {
// One exported column: its name and its value for a row. Text values are quoted in JSON;
// numbers (exact decimals included) are written as they are.
struct Cell
{
    const char *name;
    QByteArray value;
    bool isText;
    bool isNull = false;
};

QByteArray integer(qint64 value)
{
    return QByteArray::number(value);
}

QByteArray millis(qint64 us)
{
    return us < 0 ? QByteArray() : QByteArray::number(double(us) / 1000.0, 'f', 3);
}

QByteArray cost(const std::optional<qint64> &picoUsd)
{
    return picoUsd ? PriceTable::formatUsd(*picoUsd).toLatin1() : QByteArray();
}

QList<Cell> cellsOf(const RequestRecord &r)
{
    const Usage &u = r.usage;
    return {
        {"time", r.startedAt.toUTC().toString(Qt::ISODateWithMs).toLatin1(), true},
        {"request_id", r.requestId, true},
        {"session_id", r.sessionId, true},
        {"project", r.project.toUtf8(), true},
        {"virtual_key", r.virtualKeyAlias.toUtf8(), true},
        {"billing_tag", r.billingTag.toUtf8(), true},
        {"provider", r.provider.toUtf8(), true},
        {"surface", r.surface.toUtf8(), true},
        {"upstream_key", r.upstreamKeyAlias.toUtf8(), true},
        {"method", r.method, true},
        {"path", r.target, true},
        {"model", r.model.toUtf8(), true},
        {"stream", integer(r.isStreaming ? 1 : 0), false},
        {"status", integer(r.status), false},
        {"error_type", r.errorType.toUtf8(), true},
        {"error", r.error.toUtf8(), true},
        {"input_tokens", integer(u.inputTokens), false},
        {"output_tokens", integer(u.outputTokens), false},
        {"cache_write_5m_tokens", integer(u.cacheWrite5mTokens), false},
        {"cache_write_1h_tokens", integer(u.cacheWrite1hTokens), false},
        {"cache_read_tokens", integer(u.cacheReadTokens), false},
        {"web_search_requests", integer(u.webSearchRequests), false},
        {"web_fetch_requests", integer(u.webFetchRequests), false},
        {"service_tier", u.serviceTier.toUtf8(), true},
        {"speed", u.speed.toUtf8(), true},
        {"inference_geo", u.inferenceGeo.toUtf8(), true},
        {"stop_reason", u.stopReason.toUtf8(), true},
        {"cost_usd", cost(r.costPicoUsd), false, !r.costPicoUsd},
        {"cost_usd_without_cache", cost(r.costWithoutCachePicoUsd), false,
         !r.costWithoutCachePicoUsd},
        {"unpriced", integer(r.costPicoUsd ? 0 : 1), false},
        {"cache_markers_added", integer(r.cacheMarkersAdded), false},
        {"cache_markers_client", integer(r.cacheMarkersClient), false},
        {"cache_reads_by_tollgate", integer(r.cacheReadsByTollgate ? 1 : 0), false},
        {"ttfb_ms", millis(r.ttfbUs), false, r.ttfbUs < 0},
        {"total_ms", millis(r.totalUs), false},
        {"bytes_in", integer(r.requestBytes), false},
        {"bytes_out", integer(r.responseBytes), false},
        {"user_agent", r.userAgent, true},
        {"is_batch", integer(r.isBatch ? 1 : 0), false},
        {"incomplete", integer(r.isIncomplete ? 1 : 0), false},
    };
}
} // namespace

LedgerExporter::LedgerExporter(QIODevice *device, Format format)
    : m_device(device)
    , m_format(format)
{
}

QList<QByteArray> LedgerExporter::columnNames()
{
    QList<QByteArray> names;
    for (const Cell &cell : cellsOf(RequestRecord()))
        names.append(cell.name);
    return names;
}

QByteArray LedgerExporter::csvField(const QByteArray &text, bool isText)
{
    QByteArray value = text;
    if (isText && !value.isEmpty()
        && (value.front() == '=' || value.front() == '+' || value.front() == '-'
            || value.front() == '@' || value.front() == '\t' || value.front() == '\r'))
        value.prepend('\'');
    if (!value.contains(',') && !value.contains('"') && !value.contains('\n')
        && !value.contains('\r'))
        return value;
    value.replace('"', "\"\"");
    return '"' + value + '"';
}

bool LedgerExporter::writeHeader()
{
    if (m_format != Format::Csv)
        return true;
    // CRLF line ends, as RFC 4180 and spreadsheets expect.
    return m_device->write(columnNames().join(',') + "\r\n") >= 0;
}

bool LedgerExporter::writeRow(const RequestRecord &record)
{
    const QList<Cell> cells = cellsOf(record);
    QByteArray line;
    line.reserve(1024);
    if (m_format == Format::Csv) {
        for (qsizetype i = 0; i < cells.size(); ++i) {
            if (i > 0)
                line.append(',');
            line.append(csvField(cells[i].value, cells[i].isText));
        }
        line.append("\r\n");
    } else {
        line.append('{');
        for (qsizetype i = 0; i < cells.size(); ++i) {
            if (i > 0)
                line.append(',');
            line.append('"').append(cells[i].name).append("\":");
            if (cells[i].isNull)
                line.append("null");
            else if (cells[i].isText)
                line.append(ErrorResponse::jsonString(QString::fromUtf8(cells[i].value)));
            else
                line.append(cells[i].value); // exact decimal or integer literal
        }
        line.append("}\n");
    }
    ++m_rows;
    return m_device->write(line) == line.size();
}

} // namespace tollgate
