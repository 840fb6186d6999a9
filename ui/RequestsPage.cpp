#include "RequestsPage.h"

#include "CurlCommand.h"
#include "Gateway.h"
#include "LedgerReader.h"
#include "RequestDetailView.h"
#include "RequestsModel.h"
#include "store/LedgerExporter.h"

#include <QClipboard>
#include <QComboBox>
#include <QDate>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QHostAddress>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QSaveFile>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>

namespace tollgate {

namespace {

constexpr qint64 kHourMs = 60LL * 60 * 1000;
constexpr qint64 kDayMs = 24 * kHourMs;

// The status box's choices: a class, failures only, or an exact status (its number).
const QString kErrorsOnly = QStringLiteral("errors");
const QString kClassPrefix = QStringLiteral("class:");

QString classChoice(RequestQuery::StatusClass statusClass)
{
    return kClassPrefix + QString::number(int(statusClass));
}

} // namespace

// The values the filter boxes offer, read from the log.
struct RequestsPage::Choices
{
    QStringList sessions;
    QStringList models;
    QStringList tags;
    QStringList statuses;
};

RequestsPage::RequestsPage(Gateway *gateway, LedgerReader *reader, QWidget *parent)
    : QWidget(parent)
    , m_gateway(gateway)
    , m_reader(reader)
    , m_model(new RequestsModel(reader, this))
{
    setAccessibleName(tr("Requests"));
    auto *layout = new QVBoxLayout(this);

    auto *filters = new QHBoxLayout;
    m_timeBox = new QComboBox;
    m_timeBox->setObjectName(QStringLiteral("timeRange"));
    m_timeBox->setAccessibleName(tr("Time range"));
    m_timeBox->addItem(tr("Last hour"), int(TimeRange::LastHour));
    m_timeBox->addItem(tr("Today"), int(TimeRange::Today));
    m_timeBox->addItem(tr("Last 7 days"), int(TimeRange::Week));
    m_timeBox->addItem(tr("Last 30 days"), int(TimeRange::Month));
    m_timeBox->addItem(tr("All time"), int(TimeRange::All));
    m_timeBox->setCurrentIndex(2);
    auto *timeLabel = new QLabel(tr("&Requests in:"));
    timeLabel->setBuddy(m_timeBox);
    filters->addWidget(timeLabel);
    filters->addWidget(m_timeBox);
    connect(m_timeBox, &QComboBox::currentIndexChanged, this, [this] {
        applyFilter();
        loadChoices();
    });

    m_sessionBox = filterBox(QStringLiteral("session"), tr("Session"), tr("All sessions"));
    m_modelBox = filterBox(QStringLiteral("model"), tr("Model"), tr("All models"));
    m_tagBox = filterBox(QStringLiteral("tag"), tr("Billing tag"), tr("All tags"));
    filters->addWidget(m_sessionBox, 2);
    filters->addWidget(m_modelBox, 1);
    filters->addWidget(m_tagBox, 1);

    m_statusBox = new QComboBox;
    m_statusBox->setObjectName(QStringLiteral("status"));
    m_statusBox->setAccessibleName(tr("Status"));
    m_statusBox->addItem(tr("Any status"), QString());
    m_statusBox->addItem(tr("Failed"), kErrorsOnly);
    m_statusBox->addItem(tr("Successful (2xx)"), classChoice(RequestQuery::StatusClass::Success));
    m_statusBox->addItem(tr("Redirected (3xx)"), classChoice(RequestQuery::StatusClass::Redirect));
    m_statusBox->addItem(tr("Client errors (4xx)"),
                         classChoice(RequestQuery::StatusClass::ClientError));
    m_statusBox->addItem(tr("Server errors (5xx)"),
                         classChoice(RequestQuery::StatusClass::ServerError));
    m_statusBox->addItem(tr("No response"), classChoice(RequestQuery::StatusClass::NoResponse));
    m_statusBox->insertSeparator(m_statusBox->count());
    m_fixedStatusItems = m_statusBox->count();
    filters->addWidget(m_statusBox);
    connect(m_statusBox, &QComboBox::currentIndexChanged, this, &RequestsPage::applyFilter);

    m_search = new QLineEdit;
    m_search->setObjectName(QStringLiteral("search"));
    m_search->setAccessibleName(tr("Search requests"));
    m_search->setPlaceholderText(tr("Search path, model, session, project, error, request id"));
    m_search->setClearButtonEnabled(true);
    filters->addWidget(m_search, 2);
    connect(m_search, &QLineEdit::textChanged, this, &RequestsPage::scheduleFilter);

    m_export = new QPushButton(tr("E&xport CSV…"));
    m_export->setObjectName(QStringLiteral("exportCsv"));
    m_export->setAccessibleName(tr("Export the filtered requests to a CSV file"));
    filters->addWidget(m_export);
    connect(m_export, &QPushButton::clicked, this, &RequestsPage::chooseExportFile);
    layout->addLayout(filters);

    m_status = new QLabel;
    m_status->setObjectName(QStringLiteral("statusLine"));
    m_status->setAccessibleName(tr("Requests shown"));
    layout->addWidget(m_status);

    m_view = new QTableView;
    m_view->setObjectName(QStringLiteral("requestTable"));
    m_view->setAccessibleName(tr("Requests"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->setTabKeyNavigation(false);
    m_view->verticalHeader()->hide();
    // Fixed row heights and column widths: the view never measures rows it does not show,
    // which keeps a table of 100,000 rows as fast as one of 100.
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 8);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_view->horizontalHeader()->setSectionsMovable(true);
    m_view->horizontalHeader()->setStretchLastSection(true);
    const int digit = m_view->fontMetrics().horizontalAdvance(u'0');
    m_view->setColumnWidth(RequestsModel::TimeColumn, 21 * digit);
    m_view->setColumnWidth(RequestsModel::ModelColumn, 22 * digit);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &RequestsPage::onCurrentRowChanged);

    m_detail = new RequestDetailView;
    m_detail->setObjectName(QStringLiteral("requestDetail"));
    connect(m_detail, &RequestDetailView::copyAsCurlRequested, this, &RequestsPage::copyCurl);

    auto *splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(m_view);
    splitter->addWidget(m_detail);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setChildrenCollapsible(false);
    layout->addWidget(splitter, 1);

    setTabOrder(m_timeBox, m_sessionBox);
    setTabOrder(m_sessionBox, m_modelBox);
    setTabOrder(m_modelBox, m_tagBox);
    setTabOrder(m_tagBox, m_statusBox);
    setTabOrder(m_statusBox, m_search);
    setTabOrder(m_search, m_export);
    setTabOrder(m_export, m_view);
    setTabOrder(m_view, m_detail->copyAsCurlButton());

    m_filterTimer.setSingleShot(true);
    m_filterTimer.setInterval(kFilterDelayMs);
    connect(&m_filterTimer, &QTimer::timeout, this, &RequestsPage::applyFilter);

    connect(m_model, &RequestsModel::reloaded, this, &RequestsPage::updateStatus);
    connect(m_model, &RequestsModel::rowsInserted, this, &RequestsPage::updateStatus);
    connect(m_model, &RequestsModel::loadFailed, this, [this](const QString &error) {
        m_storeError = error;
        updateStatus();
    });
    connect(m_model, &RequestsModel::rowsLoaded, this, [this](int first, int last) {
        if (m_pendingRow >= first && m_pendingRow <= last)
            showRow(m_pendingRow);
    });
    if (m_gateway)
        connect(m_gateway, &Gateway::requestFinished, m_model, &RequestsModel::addRecord);
    if (m_reader) {
        connect(m_reader, &LedgerReader::storeUnavailable, this, [this](const QString &error) {
            m_storeError = error;
            updateStatus();
        });
        // The settings moved the request log: the rows are read from the new one, now if
        // the page is shown, else when it is next shown.
        connect(m_reader, &LedgerReader::storeChanged, this, [this] {
            m_export->setEnabled(m_reader->hasStore());
            if (isVisible())
                reload();
            else
                m_isLoaded = false;
        });
    }
    m_export->setEnabled(m_reader && m_reader->hasStore());
    updateStatus();
}

RequestsPage::~RequestsPage() = default;

QComboBox *RequestsPage::filterBox(const QString &objectName, const QString &accessibleName,
                                   const QString &anyText)
{
    auto *box = new QComboBox;
    box->setObjectName(objectName);
    box->setAccessibleName(accessibleName);
    box->setEditable(true);
    box->setInsertPolicy(QComboBox::NoInsert);
    box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    box->setMinimumContentsLength(12);
    box->addItem(QString());
    box->lineEdit()->setPlaceholderText(anyText);
    box->lineEdit()->setClearButtonEnabled(true);
    connect(box, &QComboBox::currentTextChanged, this, &RequestsPage::scheduleFilter);
    return box;
}

RequestsPage::TimeRange RequestsPage::timeRange() const
{
    return TimeRange(m_timeBox->currentData().toInt());
}

void RequestsPage::setTimeRange(TimeRange range)
{
    m_timeBox->setCurrentIndex(m_timeBox->findData(int(range)));
}

RequestQuery::Filter RequestsPage::filterFromControls() const
{
    RequestQuery::Filter filter;
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    switch (timeRange()) {
    case TimeRange::LastHour:
        filter.fromMs = nowMs - kHourMs;
        break;
    case TimeRange::Today:
        filter.fromMs = QDate::currentDate().startOfDay().toMSecsSinceEpoch();
        break;
    case TimeRange::Week:
        filter.fromMs = nowMs - 7 * kDayMs;
        break;
    case TimeRange::Month:
        filter.fromMs = nowMs - 30 * kDayMs;
        break;
    case TimeRange::All:
        break;
    }
    const QString session = m_sessionBox->currentText().trimmed();
    if (!session.isEmpty())
        filter.sessionId = session.toUtf8();
    const QString model = m_modelBox->currentText().trimmed();
    if (!model.isEmpty())
        filter.model = model;
    const QString tag = m_tagBox->currentText().trimmed();
    if (!tag.isEmpty())
        filter.billingTag = tag;
    const QString status = m_statusBox->currentData().toString();
    if (status == kErrorsOnly) {
        filter.isErrorsOnly = true;
    } else if (status.startsWith(kClassPrefix)) {
        filter.statusClass = RequestQuery::StatusClass(status.mid(kClassPrefix.size()).toInt());
    } else if (!status.isEmpty()) {
        filter.status = status.toInt();
    }
    filter.search = m_search->text();
    return filter;
}

void RequestsPage::scheduleFilter()
{
    m_filterTimer.start();
}

void RequestsPage::applyFilter()
{
    m_filterTimer.stop();
    m_isLoaded = true;
    m_storeError.clear();
    m_pendingRow = -1;
    ++m_detailGeneration;
    m_detail->showMessage(tr("Select a request to see its detail."));
    m_model->setFilter(filterFromControls());
    updateStatus();
}

void RequestsPage::reload()
{
    applyFilter();
    loadChoices();
}

void RequestsPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    // The log is read when the page is first shown, not when the window is built.
    if (!m_isLoaded)
        reload();
}

void RequestsPage::loadChoices()
{
    if (!m_reader || !m_reader->hasStore())
        return;
    const qint64 fromMs = filterFromControls().fromMs;
    m_reader->run<Choices>(
        [fromMs](LedgerStore *store) {
            Choices choices;
            if (!store)
                return choices;
            using Field = RequestQuery::Field;
            choices.sessions =
                RequestQuery::distinctValues(store, Field::SessionId, fromMs, kMaxChoices);
            choices.models = RequestQuery::distinctValues(store, Field::Model, fromMs, kMaxChoices);
            choices.tags =
                RequestQuery::distinctValues(store, Field::BillingTag, fromMs, kMaxChoices);
            choices.statuses =
                RequestQuery::distinctValues(store, Field::Status, fromMs, kMaxChoices);
            return choices;
        },
        this, [this](Choices choices) { applyChoices(choices); });
}

void RequestsPage::applyChoices(const Choices &choices)
{
    const auto refill = [](QComboBox *box, const QStringList &values) {
        // Refilling must not look like the user picking something else.
        const QString current = box->currentText();
        const QSignalBlocker blocker(box);
        box->clear();
        box->addItem(QString());
        box->addItems(values);
        box->setEditText(current);
    };
    refill(m_sessionBox, choices.sessions);
    refill(m_modelBox, choices.models);
    refill(m_tagBox, choices.tags);

    const QString current = m_statusBox->currentData().toString();
    const QSignalBlocker blocker(m_statusBox);
    // The items after the fixed ones are exact statuses from the log.
    while (m_statusBox->count() > m_fixedStatusItems)
        m_statusBox->removeItem(m_fixedStatusItems);
    QStringList statuses = choices.statuses;
    std::sort(statuses.begin(), statuses.end(),
              [](const QString &a, const QString &b) { return a.toInt() < b.toInt(); });
    for (const QString &status : std::as_const(statuses)) {
        const QString label = status == QLatin1String("0") ? tr("Exactly: no response")
                                                           : tr("Exactly %1").arg(status);
        m_statusBox->addItem(label, status);
    }
    const int index = m_statusBox->findData(current);
    m_statusBox->setCurrentIndex(index >= 0 ? index : 0);
}

void RequestsPage::onCurrentRowChanged()
{
    const QModelIndex current = m_view->selectionModel()->currentIndex();
    if (!current.isValid()) {
        m_pendingRow = -1;
        m_detail->showMessage(tr("Select a request to see its detail."));
        return;
    }
    showRow(current.row());
}

void RequestsPage::showRow(int row)
{
    const quint64 generation = ++m_detailGeneration;
    const RequestRecord *record = m_model->recordAt(row);
    if (!record) {
        // The row's page is being read: shown once it arrives (see rowsLoaded).
        m_pendingRow = row;
        m_detail->showMessage(tr("Loading…"));
        return;
    }
    m_pendingRow = -1;
    if (m_model->hasFullRecord(row)) {
        m_detail->setRecord(*record);
        emit detailShown(record->id);
        return;
    }
    // The list's columns at once, the header blocks and bodies when the log answers.
    m_detail->setRecord(*record);
    if (!m_reader) {
        emit detailShown(record->id);
        return;
    }
    const RequestRecord lean = *record;
    m_reader->run<std::optional<RequestRecord>>(
        [lean](LedgerStore *store) -> std::optional<RequestRecord> {
            if (!store)
                return std::nullopt;
            std::optional<quint64> id = lean.id;
            if (lean.id == 0)
                id = RequestQuery::findId(store, lean);
            if (!id)
                return std::nullopt;
            return RequestQuery::detail(store, *id);
        },
        this,
        [this, generation](std::optional<RequestRecord> full) { showDetail(generation, full); });
}

void RequestsPage::showDetail(quint64 generation, const std::optional<RequestRecord> &record)
{
    if (generation != m_detailGeneration)
        return;
    if (record)
        m_detail->setRecord(*record);
    emit detailShown(m_detail->record().id);
}

QString RequestsPage::baseUrl() const
{
    QHostAddress address = QHostAddress::LocalHost;
    quint16 port = 8787;
    if (m_gateway) {
        const GatewayConfig &config = m_gateway->config();
        // A gateway listening on every interface is still reached on loopback from here.
        if (config.listenAddress != QHostAddress::Any
            && config.listenAddress != QHostAddress::AnyIPv4
            && config.listenAddress != QHostAddress::AnyIPv6 && !config.listenAddress.isNull())
            address = config.listenAddress;
        port = m_gateway->isRunning() && m_gateway->port() ? m_gateway->port() : config.port;
    }
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
        ? QString(u'[' + address.toString() + u']')
        : address.toString();
    return QStringLiteral("http://%1:%2").arg(host).arg(port);
}

QString RequestsPage::curlCommand() const
{
    if (!m_detail->hasRecord())
        return {};
    return CurlCommand::build(m_detail->record(), baseUrl());
}

void RequestsPage::copyCurl()
{
    const QString command = curlCommand();
    if (command.isEmpty())
        return;
    QGuiApplication::clipboard()->setText(command);
    m_status->setText(tr("Copied the request as a curl command (your key is read from "
                         "$ANTHROPIC_API_KEY when it runs)."));
    emit curlCopied();
}

void RequestsPage::chooseExportFile()
{
    const QString suggested = QDir::home().filePath(
        QStringLiteral("tollgate-requests-%1.csv").arg(QDate::currentDate().toString(Qt::ISODate)));
    const QString path = QFileDialog::getSaveFileName(this, tr("Export requests to CSV"), suggested,
                                                      tr("CSV files (*.csv)"));
    if (!path.isEmpty())
        exportCsv(path);
}

void RequestsPage::exportCsv(const QString &path)
{
    if (!m_reader || m_isExporting)
        return;
    m_isExporting = true;
    m_export->setEnabled(false);
    m_status->setText(tr("Exporting to %1…").arg(QDir::toNativeSeparators(path)));
    struct Result
    {
        qint64 rows = 0;
        QString error;
    };
    const RequestQuery::Filter filter = m_model->filter();
    m_reader->run<Result>(
        [filter, path](LedgerStore *store) {
            Result result;
            if (!store) {
                result.error = QStringLiteral("the request log is not open");
                return result;
            }
            // Written beside the target and renamed at the end: a failed export never
            // leaves half a file under the chosen name.
            QSaveFile file(path);
            if (!file.open(QIODevice::WriteOnly)) {
                result.error = file.errorString();
                return result;
            }
            LedgerExporter exporter(&file, LedgerExporter::Format::Csv);
            bool isWritten = exporter.writeHeader();
            const bool isRead = RequestQuery::forEach(
                store, filter, 0,
                [&](const RequestRecord &record) {
                    isWritten = exporter.writeRow(record);
                    return isWritten;
                },
                &result.error);
            if (!isRead || !isWritten) {
                if (result.error.isEmpty())
                    result.error = file.errorString();
                file.cancelWriting();
                return result;
            }
            if (!file.commit()) {
                result.error = file.errorString();
                return result;
            }
            result.rows = exporter.rowCount();
            return result;
        },
        this,
        [this, path](Result result) {
            m_isExporting = false;
            m_export->setEnabled(true);
            if (result.error.isEmpty()) {
                m_status->setText(tr("Exported %Ln requests to %1.", nullptr, int(result.rows))
                                      .arg(QDir::toNativeSeparators(path)));
            } else {
                m_status->setText(tr("The export failed: %1").arg(result.error));
            }
            emit exportFinished(result.rows, result.error);
        });
}

void RequestsPage::updateStatus()
{
    if (m_isExporting)
        return;
    if (!m_reader || !m_reader->hasStore()) {
        m_status->setText(tr("The request log is off: only the requests since Tollgate "
                             "started are listed (%Ln).",
                             nullptr, m_model->rowCount()));
        return;
    }
    if (!m_storeError.isEmpty()) {
        m_status->setText(tr("The request log cannot be read (%1). Requests since Tollgate "
                             "started are listed.")
                              .arg(m_storeError));
        return;
    }
    if (m_model->isLoading()) {
        m_status->setText(tr("Reading the request log…"));
        return;
    }
    m_status->setText(tr("%Ln requests", nullptr, m_model->rowCount()));
}

} // namespace tollgate
