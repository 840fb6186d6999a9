#pragma once

#include "RequestRecord.h"
#include "usage/PriceTable.h"

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTabWidget;
class QTableWidget;

namespace tollgate {

// The detail pane of the request list: one request's summary, its usage broken down by token
// type with each type's cost at the model's price, the cost with and without caching, the
// cache markers (the client's and Tollgate's, and whose the cache reads are), timings, the error
// and the error body, and the request and response headers. Credentials are masked again here
// whatever the log holds. Shows what it is given; reading the log is the page's job.
class RequestDetailView : public QWidget
{
    Q_OBJECT

public:
    enum UsageColumn { TypeColumn, TokensColumn, RateColumn, CostColumn, UsageColumnCount };

    explicit RequestDetailView(QWidget *parent = nullptr);

    // The prices for the cost breakdown (the built-in list unless set).
    void setPrices(const PriceTable &prices) { m_prices = prices; }
    void setRecord(const RequestRecord &record);
    // No request: the message instead (nothing selected, loading, not found).
    void showMessage(const QString &message);
    bool hasRecord() const { return m_hasRecord; }
    const RequestRecord &record() const { return m_record; }

    QString summaryText() const;
    QString requestHeadersText() const;
    QString responseHeadersText() const;
    QString errorText() const;
    QString errorBodyText() const;
    QString costText() const; // the cost line: total, without cache, saved
    // "Cache markers: client 3, Tollgate 1 · cache reads owed to the client's markers"
    QString cacheMarkersText() const;
    QString timingText() const;
    QTableWidget *usageTable() const { return m_usage; }
    QPushButton *copyAsCurlButton() const { return m_copyCurl; }

    // Header lines with credential values masked, whether or not they were masked before.
    static QByteArray maskedHeaders(const QByteArray &headerLines);

signals:
    void copyAsCurlRequested();

private:
    void fillUsage(const RequestRecord &record);
    void addUsageRow(const QString &type, qint64 count, std::optional<qint64> ratePico,
                     std::optional<qint64> costPico);

    PriceTable m_prices;
    RequestRecord m_record;
    bool m_hasRecord = false;
    QLabel *m_message = nullptr;
    QTabWidget *m_tabs = nullptr;
    QLabel *m_summary = nullptr;
    QTableWidget *m_usage = nullptr;
    QLabel *m_cost = nullptr;
    QLabel *m_cacheMarkers = nullptr;
    QLabel *m_timing = nullptr;
    QLabel *m_error = nullptr;
    QPlainTextEdit *m_errorBody = nullptr;
    QPlainTextEdit *m_requestHeaders = nullptr;
    QPlainTextEdit *m_responseHeaders = nullptr;
    QPushButton *m_copyCurl = nullptr;
};

} // namespace tollgate
