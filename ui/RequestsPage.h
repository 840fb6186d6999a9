#pragma once

#include "RequestRecord.h"
#include "store/RequestQuery.h"

#include <QPointer>
#include <QTimer>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace tollgate {

class Gateway;
class LedgerReader;
class RequestDetailView;
class RequestsModel;

// The Requests page: every logged request in a virtualised table, newest first, narrowed by
// time range, session, model, billing tag, status and a search; the selected request's
// detail (headers with credentials masked, usage and cost broken down, timings, error
// body); "Copy as curl" without secrets; and an export of the filtered rows to CSV. Reads
// only through the LedgerReader (queries and the export run on its thread) and adds
// finished requests from Gateway::requestFinished as they come. Owns its model and widgets;
// the gateway and the reader belong to the caller.
class RequestsPage : public QWidget
{
    Q_OBJECT

public:
    enum class TimeRange { LastHour, Today, Week, Month, All };
    // Typing in the search box or a filter box applies the filter after this pause.
    static constexpr int kFilterDelayMs = 250;
    // Choices offered in the session, model and tag boxes (the most recently used first).
    static constexpr int kMaxChoices = 200;

    explicit RequestsPage(Gateway *gateway, LedgerReader *reader, QWidget *parent = nullptr);
    ~RequestsPage() override;

    RequestsModel *model() const { return m_model; }
    QTableView *view() const { return m_view; }
    RequestDetailView *detailView() const { return m_detail; }

    TimeRange timeRange() const;
    void setTimeRange(TimeRange range);
    // The filter the widgets describe now (times computed from the current time).
    RequestQuery::Filter filterFromControls() const;
    // Applies the filter bar at once (rather than after the typing pause).
    void applyFilter();
    // Reads the log again, e.g. after its location changed or rows were purged.
    void reload();

    // The curl command for the shown request; empty when none is shown.
    QString curlCommand() const;
    // Writes the rows matching the current filter to a CSV file, on the reader thread;
    // answers with exportFinished().
    void exportCsv(const QString &path);
    // Tollgate's address as clients use it, for the curl command.
    QString baseUrl() const;

signals:
    void detailShown(quint64 id); // 0 for a request not read back from the log yet
    void curlCopied();
    void exportFinished(qint64 rows, const QString &error); // error empty on success

protected:
    void showEvent(QShowEvent *event) override;

private:
    struct Choices;

    QComboBox *filterBox(const QString &objectName, const QString &accessibleName,
                         const QString &anyText);
    void scheduleFilter();
    void loadChoices();
    void applyChoices(const Choices &choices);
    void onCurrentRowChanged();
    void showRow(int row);
    void showDetail(quint64 generation, const std::optional<RequestRecord> &record);
    void copyCurl();
    void chooseExportFile();
    void updateStatus();

    QPointer<Gateway> m_gateway;
    QPointer<LedgerReader> m_reader;
    RequestsModel *m_model = nullptr;
    QComboBox *m_timeBox = nullptr;
    QComboBox *m_sessionBox = nullptr;
    QComboBox *m_modelBox = nullptr;
    QComboBox *m_tagBox = nullptr;
    QComboBox *m_statusBox = nullptr;
    QLineEdit *m_search = nullptr;
    QPushButton *m_export = nullptr;
    QLabel *m_status = nullptr;
    QTableView *m_view = nullptr;
    RequestDetailView *m_detail = nullptr;

    int m_fixedStatusItems = 0; // "any", the classes and the separator
    QTimer m_filterTimer;
    bool m_isLoaded = false;
    bool m_isExporting = false;
    QString m_storeError;
    quint64 m_detailGeneration = 0; // answers for an earlier selection are dropped
    int m_pendingRow = -1; // selected while its page was being read
};

} // namespace tollgate
