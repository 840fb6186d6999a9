#include "RequestDetailView.h"

#include "RequestsModel.h"
#include "http/HeaderList.h"
#include "keys/SecretRedactor.h"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStackedLayout>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

namespace tollgate {

namespace {

constexpr qint64 kPerMillion = 1'000'000;

QString usd(qint64 picoUsd)
{
    return u'$' + PriceTable::formatUsd(picoUsd);
}

QPlainTextEdit *textPane(const QString &objectName, const QString &accessibleName)
{
    auto *pane = new QPlainTextEdit;
    pane->setObjectName(objectName);
    pane->setAccessibleName(accessibleName);
    pane->setReadOnly(true);
    pane->setLineWrapMode(QPlainTextEdit::NoWrap);
    pane->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    // Read-only text is for reading and copying: Tab moves on rather than being typed.
    pane->setTabChangesFocus(true);
    pane->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    return pane;
}

QLabel *textLabel(const QString &objectName, const QString &accessibleName)
{
    auto *label = new QLabel;
    label->setObjectName(objectName);
    label->setAccessibleName(accessibleName);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    label->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    return label;
}

// The request's usage with only some of its counts, for the cost of one token type with
// the same modifiers (batch, fast mode, data residency) as the whole request.
Usage only(const Usage &usage, qint64 Usage::*field, qint64 count)
{
    Usage part;
    part.serviceTier = usage.serviceTier;
    part.speed = usage.speed;
    part.inferenceGeo = usage.inferenceGeo;
    part.hasUsage = true;
    part.*field = count;
    return part;
}

QString bytesText(const QByteArray &bytes)
{
    return QString::fromUtf8(bytes).remove(u'\r');
}

// Whose markers the request carried and so whose its cache savings are (the Dashboard splits
// them the same way).
QString cacheMarkersLine(const RequestRecord &record)
{
    const QLocale locale;
    const QString markers = RequestDetailView::tr("Cache markers: client %1, Tollgate %2")
                                .arg(locale.toString(record.cacheMarkersClient),
                                     locale.toString(record.cacheMarkersAdded));
    QString reads;
    if (record.usage.cacheReadTokens <= 0)
        reads = RequestDetailView::tr("no cache reads");
    else if (record.cacheReadsByTollgate)
        reads = RequestDetailView::tr("cache reads owed to Tollgate's markers");
    else
        reads = RequestDetailView::tr("cache reads owed to the client's markers");
    return markers + QStringLiteral(" · ") + reads;
}

} // namespace

RequestDetailView::RequestDetailView(QWidget *parent)
    : QWidget(parent)
    , m_prices(PriceTable::builtIn())
{
    setAccessibleName(tr("Request detail"));
    auto *stack = new QStackedLayout(this);

    m_message = new QLabel(tr("Select a request to see its detail."));
    m_message->setObjectName(QStringLiteral("detailMessage"));
    m_message->setAlignment(Qt::AlignCenter);
    m_message->setWordWrap(true);
    stack->addWidget(m_message);

    auto *content = new QWidget;
    auto *layout = new QVBoxLayout(content);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *top = new QHBoxLayout;
    m_summary = textLabel(QStringLiteral("summary"), tr("Request summary"));
    top->addWidget(m_summary, 1);
    m_copyCurl = new QPushButton(tr("Copy as &curl"));
    m_copyCurl->setObjectName(QStringLiteral("copyAsCurl"));
    m_copyCurl->setAccessibleName(tr("Copy the request as a curl command"));
    m_copyCurl->setToolTip(tr("Copies a curl command that sends this request again through "
                              "Tollgate, with your key taken from $ANTHROPIC_API_KEY"));
    connect(m_copyCurl, &QPushButton::clicked, this, &RequestDetailView::copyAsCurlRequested);
    top->addWidget(m_copyCurl, 0, Qt::AlignTop);
    layout->addLayout(top);

    m_tabs = new QTabWidget;
    m_tabs->setObjectName(QStringLiteral("detailTabs"));
    m_tabs->setAccessibleName(tr("Request detail sections"));

    auto *usagePage = new QWidget;
    auto *usageLayout = new QVBoxLayout(usagePage);
    m_usage = new QTableWidget(0, UsageColumnCount);
    m_usage->setObjectName(QStringLiteral("usageTable"));
    m_usage->setAccessibleName(tr("Usage by token type"));
    m_usage->setHorizontalHeaderLabels(
        {tr("Tokens of type"), tr("Count"), tr("Price per million"), tr("Cost")});
    m_usage->verticalHeader()->hide();
    m_usage->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_usage->horizontalHeader()->setStretchLastSection(true);
    m_usage->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_usage->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_usage->setTabKeyNavigation(false);
    usageLayout->addWidget(m_usage, 1);
    m_cost = textLabel(QStringLiteral("cost"), tr("Cost"));
    usageLayout->addWidget(m_cost);
    m_cacheMarkers = textLabel(QStringLiteral("cacheMarkers"), tr("Cache markers"));
    usageLayout->addWidget(m_cacheMarkers);
    m_timing = textLabel(QStringLiteral("timing"), tr("Timings"));
    usageLayout->addWidget(m_timing);
    m_tabs->addTab(usagePage, tr("&Usage and cost"));

    auto *errorPage = new QWidget;
    auto *errorLayout = new QVBoxLayout(errorPage);
    m_error = textLabel(QStringLiteral("error"), tr("Error"));
    errorLayout->addWidget(m_error);
    m_errorBody = textPane(QStringLiteral("errorBody"), tr("Error body"));
    errorLayout->addWidget(m_errorBody, 1);
    m_tabs->addTab(errorPage, tr("&Error"));

    auto *headersPage = new QWidget;
    auto *headersLayout = new QVBoxLayout(headersPage);
    auto *requestLabel = new QLabel(tr("Re&quest headers"));
    m_requestHeaders = textPane(QStringLiteral("requestHeaders"), tr("Request headers"));
    requestLabel->setBuddy(m_requestHeaders);
    auto *responseLabel = new QLabel(tr("Res&ponse headers"));
    m_responseHeaders = textPane(QStringLiteral("responseHeaders"), tr("Response headers"));
    responseLabel->setBuddy(m_responseHeaders);
    headersLayout->addWidget(requestLabel);
    headersLayout->addWidget(m_requestHeaders, 1);
    headersLayout->addWidget(responseLabel);
    headersLayout->addWidget(m_responseHeaders, 1);
    m_tabs->addTab(headersPage, tr("&Headers"));

    layout->addWidget(m_tabs, 1);
    stack->addWidget(content);

    setTabOrder(m_copyCurl, m_tabs);
    setTabOrder(m_tabs, m_usage);
    setTabOrder(m_usage, m_errorBody);
    setTabOrder(m_errorBody, m_requestHeaders);
    setTabOrder(m_requestHeaders, m_responseHeaders);
}

void RequestDetailView::showMessage(const QString &message)
{
    m_hasRecord = false;
    m_record = RequestRecord();
    m_message->setText(message);
    static_cast<QStackedLayout *>(layout())->setCurrentIndex(0);
}

QByteArray RequestDetailView::maskedHeaders(const QByteArray &headerLines)
{
    HeaderList headers;
    for (const QByteArray &line : headerLines.split('\n')) {
        const QByteArray trimmed = line.endsWith('\r') ? line.chopped(1) : line;
        const qsizetype colon = trimmed.indexOf(':');
        if (colon <= 0)
            continue;
        headers.append(trimmed.left(colon).trimmed(), trimmed.mid(colon + 1).trimmed());
    }
    // Masking a masked value leaves it as it was; a value the log kept whole (an older
    // build, a header renamed by a client) is masked now.
    return SecretRedactor::maskedHeaderLines(headers);
}

void RequestDetailView::setRecord(const RequestRecord &record)
{
    m_record = record;
    m_hasRecord = true;
    const QLocale locale;
    const QString status = record.status == 0 ? tr("no response") : QString::number(record.status);
    QStringList lines;
    lines.append(
        QStringLiteral("%1 %2 → %3")
            .arg(QString::fromLatin1(record.method), QString::fromUtf8(record.target), status));
    lines.append(tr("%1 · %2 · %3")
                     .arg(record.model.isEmpty() ? tr("unknown model") : record.model,
                          locale.toString(record.startedAt.toLocalTime(), QLocale::LongFormat),
                          record.isStreaming ? tr("streamed") : tr("not streamed")));
    lines.append(
        tr("Session %1 · project %2 · tag %3")
            .arg(record.sessionId.isEmpty() ? tr("(none)") : QString::fromUtf8(record.sessionId),
                 record.project.isEmpty() ? tr("(none)") : record.project,
                 record.billingTag.isEmpty() ? tr("(none)") : record.billingTag));
    lines.append(
        tr("Key %1 · provider %2 (%5 client) · upstream key %3 · request id %4")
            .arg(record.virtualKeyAlias.isEmpty() ? tr("(none)") : record.virtualKeyAlias,
                 record.provider,
                 record.upstreamKeyAlias.isEmpty() ? tr("(none)") : record.upstreamKeyAlias,
                 record.requestId.isEmpty() ? tr("(none)") : QString::fromUtf8(record.requestId),
                 record.surface == QLatin1String("openai") ? tr("OpenAI") : tr("Anthropic")));
    m_summary->setText(lines.join(u'\n'));

    fillUsage(record);
    QString cost;
    if (!record.costPicoUsd) {
        cost = tr("Unpriced: no price is known for %1, so this request is not counted in "
                  "cost totals.")
                   .arg(record.model);
    } else {
        cost = tr("Cost %1").arg(usd(*record.costPicoUsd));
        if (record.costWithoutCachePicoUsd) {
            const qint64 saved = *record.costWithoutCachePicoUsd - *record.costPicoUsd;
            cost += tr(" · without cache %1 · saved by cache %2")
                        .arg(usd(*record.costWithoutCachePicoUsd), usd(qMax<qint64>(0, saved)));
        }
        if (record.isBatch)
            cost += tr(" · batch price");
    }
    m_cost->setText(cost);
    m_cacheMarkers->setText(cacheMarkersLine(record));
    m_timing->setText(tr("Time to first byte %1 · total %2 · %3 bytes sent · %4 bytes received")
                          .arg(RequestsModel::formatDuration(record.ttfbUs),
                               RequestsModel::formatDuration(record.totalUs),
                               locale.toString(record.requestBytes),
                               locale.toString(record.responseBytes)));

    if (record.error.isEmpty() && record.errorType.isEmpty()) {
        m_error->setText(record.status >= 400 ? tr("HTTP %1").arg(record.status) : tr("No error."));
    } else if (record.errorType.isEmpty()) {
        m_error->setText(record.error);
    } else {
        m_error->setText(record.errorType + QStringLiteral(": ") + record.error);
    }
    m_errorBody->setPlainText(record.errorBody.isEmpty() ? QString() : bytesText(record.errorBody));
    m_errorBody->setPlaceholderText(tr("No error body."));
    m_requestHeaders->setPlainText(bytesText(maskedHeaders(record.requestHeaders)));
    m_requestHeaders->setPlaceholderText(tr("No request headers were logged."));
    m_responseHeaders->setPlainText(bytesText(maskedHeaders(record.responseHeaders)));
    m_responseHeaders->setPlaceholderText(tr("No response headers were logged."));
    // A failed request opens on its error, a successful one on its usage.
    if (RequestsModel::isFailure(record) && m_tabs->currentIndex() == 0)
        m_tabs->setCurrentIndex(1);
    static_cast<QStackedLayout *>(layout())->setCurrentIndex(1);
}

void RequestDetailView::fillUsage(const RequestRecord &record)
{
    m_usage->setRowCount(0);
    const std::optional<ModelPrice> price = m_prices.find(record.model);
    const Usage &usage = record.usage;
    // One type's cost, with the same modifiers (batch, fast mode, data residency) as the
    // whole request; empty for an unpriced model.
    const auto costOf = [&](qint64 Usage::*field, qint64 count) -> std::optional<qint64> {
        if (!price)
            return std::nullopt;
        return PriceTable::costOf(*price, only(usage, field, count), record.isBatch).picoUsd;
    };
    struct Part
    {
        QString type;
        qint64 Usage::*field;
    };
    QList<Part> parts = {
        {tr("Input"), &Usage::inputTokens},
        {tr("Cache write, 5 minutes"), &Usage::cacheWrite5mTokens},
        {tr("Cache write, 1 hour"), &Usage::cacheWrite1hTokens},
        {tr("Cache read"), &Usage::cacheReadTokens},
        {tr("Output"), &Usage::outputTokens},
    };
    // Charged per search: its "price per million" is that of a million searches.
    if (usage.webSearchRequests > 0)
        parts.append({tr("Web searches"), &Usage::webSearchRequests});
    for (const Part &part : std::as_const(parts)) {
        const qint64 count = usage.*part.field;
        addUsageRow(part.type, count, costOf(part.field, kPerMillion), costOf(part.field, count));
    }
}

void RequestDetailView::addUsageRow(const QString &type, qint64 count,
                                    std::optional<qint64> ratePico, std::optional<qint64> costPico)
{
    const int row = m_usage->rowCount();
    m_usage->insertRow(row);
    const auto cell = [&](int column, const QString &text, bool isNumber) {
        auto *item = new QTableWidgetItem(text);
        if (isNumber)
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        m_usage->setItem(row, column, item);
    };
    cell(TypeColumn, type, false);
    cell(TokensColumn, QLocale().toString(count), true);
    cell(RateColumn, ratePico ? usd(*ratePico) : tr("unpriced"), true);
    cell(CostColumn, costPico ? usd(*costPico) : tr("unpriced"), true);
}

QString RequestDetailView::summaryText() const
{
    return m_summary->text();
}

QString RequestDetailView::requestHeadersText() const
{
    return m_requestHeaders->toPlainText();
}

QString RequestDetailView::responseHeadersText() const
{
    return m_responseHeaders->toPlainText();
}

QString RequestDetailView::errorText() const
{
    return m_error->text();
}

QString RequestDetailView::errorBodyText() const
{
    return m_errorBody->toPlainText();
}

QString RequestDetailView::costText() const
{
    return m_cost->text();
}

QString RequestDetailView::cacheMarkersText() const
{
    return m_cacheMarkers->text();
}

QString RequestDetailView::timingText() const
{
    return m_timing->text();
}

} // namespace tollgate
