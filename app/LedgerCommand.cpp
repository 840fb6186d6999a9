#include "LedgerCommand.h"

#include "ConsoleText.h"
#include "store/LedgerExporter.h"
#include "store/LedgerStore.h"
#include "usage/PriceTable.h"

#include <QDateTime>
#include <QFile>
#include <QTimeZone>
#include <cstdio>

namespace tollgate {

namespace {
LedgerStore::Grouping groupingFor(const QString &name)
{
    using G = LedgerStore::Grouping;
    if (name == QLatin1String("model"))
        return G::Model;
    if (name == QLatin1String("tag"))
        return G::Tag;
    if (name == QLatin1String("session"))
        return G::Session;
    if (name == QLatin1String("key"))
        return G::Key;
    if (name == QLatin1String("project"))
        return G::Project;
    if (name == QLatin1String("provider"))
        return G::Provider;
    return G::Day;
}

QString usd(qint64 picoUsd)
{
    // Shown to the cent's hundredth; exports carry the exact figure.
    return QString::number(double(picoUsd) / 1e12, 'f', 4);
}

QString percent(qint64 part, qint64 whole)
{
    return whole > 0 ? QString::number(100.0 * double(part) / double(whole), 'f', 1) + u'%'
                     : QStringLiteral("-");
}

QStringList tableRow(const LedgerStore::Totals &t)
{
    const qint64 promptTokens =
        t.inputTokens + t.cacheWrite5mTokens + t.cacheWrite1hTokens + t.cacheReadTokens;
    return {t.key.isEmpty() ? QStringLiteral("(none)") : t.key,
            QString::number(t.requests),
            QString::number(t.errors),
            QString::number(t.inputTokens),
            QString::number(t.outputTokens),
            QString::number(t.cacheWrite5mTokens),
            QString::number(t.cacheWrite1hTokens),
            QString::number(t.cacheReadTokens),
            usd(t.costPicoUsd),
            usd(t.costWithoutCachePicoUsd - t.costPicoUsd),
            percent(t.cacheReadTokens, promptTokens),
            QString::number(t.unpricedRequests)};
}

QList<QStringList> tableRows(const QList<LedgerStore::Totals> &rows)
{
    QList<QStringList> table;
    LedgerStore::Totals sum;
    sum.key = QStringLiteral("total");
    for (const LedgerStore::Totals &t : rows) {
        table.append(tableRow(t));
        sum.requests += t.requests;
        sum.errors += t.errors;
        sum.inputTokens += t.inputTokens;
        sum.outputTokens += t.outputTokens;
        sum.cacheWrite5mTokens += t.cacheWrite5mTokens;
        sum.cacheWrite1hTokens += t.cacheWrite1hTokens;
        sum.cacheReadTokens += t.cacheReadTokens;
        sum.costPicoUsd += t.costPicoUsd;
        sum.costWithoutCachePicoUsd += t.costWithoutCachePicoUsd;
        sum.unpricedRequests += t.unpricedRequests;
    }
    table.append(tableRow(sum));
    return table;
}

void printTable(const QStringList &header, const QList<QStringList> &rows)
{
    QList<qsizetype> widths;
    for (const QString &h : header)
        widths.append(h.size());
    for (const QStringList &row : rows) {
        for (qsizetype i = 0; i < row.size(); ++i)
            widths[i] = qMax(widths[i], row[i].size());
    }
    const auto printRow = [&](const QStringList &row) {
        QString line;
        for (qsizetype i = 0; i < row.size(); ++i) {
            if (i > 0)
                line += QStringLiteral("  ");
            // The first column is a name: left-aligned; the figures are right-aligned.
            line += i == 0 ? row[i].leftJustified(widths[i]) : row[i].rightJustified(widths[i]);
        }
        std::printf("%s\n", qPrintable(line.trimmed()));
    };
    printRow(header);
    for (const QStringList &row : rows)
        printRow(row);
}

std::unique_ptr<LedgerStore> openStore(const CommandLine &cli)
{
    if (!cli.config.store) {
        printError(QStringLiteral("the request log is off (database: off)"));
        return nullptr;
    }
    auto store = std::make_unique<LedgerStore>(*cli.config.store);
    QString error;
    if (!store->open(&error)) {
        printError(QStringLiteral("cannot open the request log %1: %2")
                       .arg(cli.config.store->displayName(), error));
        return nullptr;
    }
    return store;
}
} // namespace

int LedgerCommand::run(const CommandLine &cli)
{
    return cli.command == CommandLine::Command::Report ? report(cli) : exportRows(cli);
}

int LedgerCommand::report(const CommandLine &cli)
{
    const std::unique_ptr<LedgerStore> store = openStore(cli);
    if (!store)
        return 1;
    const int offset = QDateTime::currentDateTime().offsetFromUtc();
    QString error;
    const QList<LedgerStore::Totals> totals =
        store->totals(cli.sinceMs, cli.untilMs, groupingFor(cli.groupBy), offset, -1, &error);
    if (!error.isEmpty()) {
        printError(QStringLiteral("cannot read the request log: %1").arg(error));
        return 1;
    }
    const auto local = [](qint64 ms) {
        return QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("yyyy-MM-dd HH:mm"));
    };
    std::printf("Requests from %s to %s, by %s (%s)\n\n", qPrintable(local(cli.sinceMs)),
                qPrintable(local(cli.untilMs)), qPrintable(cli.groupBy),
                qPrintable(cli.config.store->displayName()));
    printTable({cli.groupBy, QStringLiteral("requests"), QStringLiteral("errors"),
                QStringLiteral("input"), QStringLiteral("output"), QStringLiteral("cache_write_5m"),
                QStringLiteral("cache_write_1h"), QStringLiteral("cache_read"),
                QStringLiteral("cost_usd"), QStringLiteral("saved_by_cache_usd"),
                QStringLiteral("cache_hit"), QStringLiteral("unpriced")},
               tableRows(totals));
    return 0;
}

int LedgerCommand::exportRows(const CommandLine &cli)
{
    const std::unique_ptr<LedgerStore> store = openStore(cli);
    if (!store)
        return 1;
    QFile file;
    if (cli.outputFile.isEmpty()) {
        if (!file.open(stdout, QIODevice::WriteOnly)) {
            printError(QStringLiteral("cannot write to standard output"));
            return 1;
        }
    } else {
        file.setFileName(cli.outputFile);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            printError(
                QStringLiteral("cannot write %1: %2").arg(cli.outputFile, file.errorString()));
            return 1;
        }
    }
    LedgerExporter exporter(&file,
                            cli.format == QLatin1String("jsonl") ? LedgerExporter::Format::JsonLines
                                                                 : LedgerExporter::Format::Csv);
    bool isWritten = exporter.writeHeader();
    QString error;
    const bool isRead = store->forEachRow(
        cli.sinceMs, cli.untilMs,
        [&](const RequestRecord &record) {
            isWritten = isWritten && exporter.writeRow(record);
            return isWritten;
        },
        &error);
    file.close();
    if (!isRead && isWritten) {
        printError(QStringLiteral("cannot read the request log: %1").arg(error));
        return 1;
    }
    if (!isWritten) {
        printError(QStringLiteral("writing the export failed: %1").arg(file.errorString()));
        return 1;
    }
    if (!cli.outputFile.isEmpty())
        std::fprintf(stderr, "tollgate: wrote %lld rows to %s\n", exporter.rowCount(),
                     qPrintable(cli.outputFile));
    return 0;
}

} // namespace tollgate
