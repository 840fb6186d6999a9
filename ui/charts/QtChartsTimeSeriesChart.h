#pragma once

#include "charts/QtChartsFrame.h"
#include "charts/TimeSeriesChart.h"

#include <QHash>
#include <QPointF>

class QChart;
class QDateTimeAxis;
class QLineSeries;
class QValueAxis;

namespace tollgate {

// TimeSeriesChart drawn with Qt Charts: one QLineSeries per series on a shared date-time
// axis and value axis. Keeps each series' points so that a step series can be redrawn and
// the axes fitted to the data; a whole series goes to Qt Charts in one replace() call.
class QtChartsTimeSeriesChart final : public TimeSeriesChart
{
    Q_OBJECT

public:
    explicit QtChartsTimeSeriesChart(QWidget *parent = nullptr);
    ~QtChartsTimeSeriesChart() override;

    void setTitle(const QString &title) override;
    void setValueUnit(ValueFormat::Unit unit) override;
    void setTimeFormat(const QString &format) override;
    void setPlaceholderText(const QString &text) override;
    void setTimeRange(qint64 fromMs, qint64 toMs) override;
    void setSeries(const QString &id, const QString &label, const QList<Point> &points,
                   Style style) override;
    void appendPoints(const QString &id, const QList<Point> &points) override;
    void removeSeries(const QString &id) override;
    void clear() override;
    QStringList seriesIds() const override;
    QList<Point> points(const QString &id) const override;

private:
    struct Entry
    {
        QLineSeries *series = nullptr; // owned by m_chart
        QList<Point> points;
        Style style = Style::Line;
    };

    void redraw(Entry &entry);
    void scheduleFit();
    void fitAxes();
    void showHover(const QString &label, const QPointF &point, bool isInside);

    QChart *m_chart = nullptr; // owned by the frame's view
    QtChartsFrame m_frame;
    QDateTimeAxis *m_timeAxis = nullptr;
    QValueAxis *m_valueAxis = nullptr;
    QHash<QString, Entry> m_entries;
    QStringList m_order; // ids in the order they were added: stable colours and legend
    ValueFormat::Unit m_unit = ValueFormat::Unit::Usd;
    qint64 m_fixedFromMs = 0;
    qint64 m_fixedToMs = 0;
    bool m_isFitPending = false;
};

} // namespace tollgate
