#pragma once

#include "charts/ValueFormat.h"

#include <QList>
#include <QString>
#include <QStringList>
#include <QWidget>

namespace tollgate {

// A chart of named series against wall-clock time (cost or tokens over time), as the pages
// draw them. Pages hold this interface only: the chart library behind it (Qt Charts today,
// deprecated from Qt 6.10 in favour of Qt Graphs) changes in one place, create().
// Every call replaces or extends what is drawn at once; callers coalesce their updates.
class TimeSeriesChart : public QWidget
{
    Q_OBJECT

public:
    enum class Style {
        Line, // straight lines between points
        Step, // the value holds until the next point (running totals, per-minute buckets)
    };

    struct Point
    {
        qint64 timeMs = 0; // epoch milliseconds, UTC; drawn in local time
        double value = 0; // dollars for Unit::Usd, a count for Unit::Tokens
        bool operator==(const Point &other) const = default;
    };

    // The chart the build provides, ready to put in a layout.
    static TimeSeriesChart *create(QWidget *parent = nullptr);

    virtual void setTitle(const QString &title) = 0;
    // What the values are: decides the value axis labels and the tooltips.
    virtual void setValueUnit(ValueFormat::Unit unit) = 0;
    // QDateTime format of the time axis labels, e.g. "HH:mm".
    virtual void setTimeFormat(const QString &format) = 0;
    // Shown instead of the plot while there is no series with a point.
    virtual void setPlaceholderText(const QString &text) = 0;
    // Fixes the time axis to [fromMs, toMs]; an empty range (fromMs >= toMs) follows the data.
    virtual void setTimeRange(qint64 fromMs, qint64 toMs) = 0;

    // Adds the series with this id, or replaces its label, style and points. Points are in
    // time order.
    virtual void setSeries(const QString &id, const QString &label, const QList<Point> &points,
                           Style style = Style::Line) = 0;
    // Appends points (later than the series' last) to an existing series.
    virtual void appendPoints(const QString &id, const QList<Point> &points) = 0;
    virtual void removeSeries(const QString &id) = 0;
    virtual void clear() = 0;
    virtual QStringList seriesIds() const = 0;
    virtual QList<Point> points(const QString &id) const = 0;

protected:
    explicit TimeSeriesChart(QWidget *parent = nullptr);
};

} // namespace tollgate
