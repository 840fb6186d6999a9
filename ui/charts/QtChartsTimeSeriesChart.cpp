#include "charts/QtChartsTimeSeriesChart.h"

#include <QChart>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QLegend>
#include <QLineSeries>
#include <QToolTip>
#include <QValueAxis>
#include <algorithm>
#include <limits>

namespace tollgate {

namespace {

constexpr qint64 kMinimumSpanMs = 10 * 60 * 1000; // a lone point still gets a readable axis

} // namespace

QtChartsTimeSeriesChart::QtChartsTimeSeriesChart(QWidget *parent)
    : TimeSeriesChart(parent)
    , m_chart(new QChart)
    , m_frame(this, m_chart)
{
    m_chart->legend()->setAlignment(Qt::AlignBottom);
    m_timeAxis = new QDateTimeAxis(m_chart);
    m_timeAxis->setFormat(QStringLiteral("HH:mm"));
    m_timeAxis->setTickCount(5);
    // Qt Charts never lays out a date-time axis whose first range was the empty default,
    // even once series arrive: start from a real one.
    const QDateTime now = QDateTime::currentDateTime();
    m_timeAxis->setRange(now.addMSecs(-kMinimumSpanMs), now);
    m_valueAxis = new QValueAxis(m_chart);
    m_valueAxis->setLabelFormat(ValueFormat::axisLabelFormat(m_unit, 0));
    m_valueAxis->setMin(0);
    m_chart->addAxis(m_timeAxis, Qt::AlignBottom);
    m_chart->addAxis(m_valueAxis, Qt::AlignLeft);

    setMinimumHeight(180);
}

QtChartsTimeSeriesChart::~QtChartsTimeSeriesChart() = default;

void QtChartsTimeSeriesChart::setTitle(const QString &title)
{
    m_frame.setTitle(title);
}

void QtChartsTimeSeriesChart::setValueUnit(ValueFormat::Unit unit)
{
    m_unit = unit;
    scheduleFit();
}

void QtChartsTimeSeriesChart::setTimeFormat(const QString &format)
{
    m_timeAxis->setFormat(format);
}

void QtChartsTimeSeriesChart::setPlaceholderText(const QString &text)
{
    m_frame.setPlaceholderText(text);
}

void QtChartsTimeSeriesChart::setTimeRange(qint64 fromMs, qint64 toMs)
{
    m_fixedFromMs = fromMs;
    m_fixedToMs = toMs;
    scheduleFit();
}

void QtChartsTimeSeriesChart::setSeries(const QString &id, const QString &label,
                                        const QList<Point> &points, Style style)
{
    auto it = m_entries.find(id);
    if (it == m_entries.end()) {
        Entry entry;
        entry.series = new QLineSeries;
        m_chart->addSeries(entry.series); // the chart owns it from here
        entry.series->attachAxis(m_timeAxis);
        entry.series->attachAxis(m_valueAxis);
        QLineSeries *series = entry.series;
        connect(series, &QLineSeries::hovered, this,
                [this, series](const QPointF &point, bool isInside) {
                    showHover(series->name(), point, isInside);
                });
        it = m_entries.insert(id, entry);
        m_order.append(id);
    }
    it->series->setName(label);
    if (it->style == style && it->points == points && !it->points.isEmpty())
        return;
    it->style = style;
    it->points = points;
    redraw(*it);
    scheduleFit();
}

void QtChartsTimeSeriesChart::appendPoints(const QString &id, const QList<Point> &points)
{
    auto it = m_entries.find(id);
    if (it == m_entries.end() || points.isEmpty())
        return;
    it->points.append(points);
    redraw(*it);
    scheduleFit();
}

void QtChartsTimeSeriesChart::removeSeries(const QString &id)
{
    auto it = m_entries.find(id);
    if (it == m_entries.end())
        return;
    m_chart->removeSeries(it->series);
    delete it->series; // removeSeries() hands ownership back
    m_entries.erase(it);
    m_order.removeOne(id);
    scheduleFit();
}

void QtChartsTimeSeriesChart::clear()
{
    const QStringList ids = m_order;
    for (const QString &id : ids)
        removeSeries(id);
}

QStringList QtChartsTimeSeriesChart::seriesIds() const
{
    return m_order;
}

QList<TimeSeriesChart::Point> QtChartsTimeSeriesChart::points(const QString &id) const
{
    const auto it = m_entries.constFind(id);
    return it == m_entries.cend() ? QList<Point>() : it->points;
}

void QtChartsTimeSeriesChart::redraw(Entry &entry)
{
    QList<QPointF> drawn;
    drawn.reserve(entry.style == Style::Step ? entry.points.size() * 2 : entry.points.size());
    for (const Point &point : std::as_const(entry.points)) {
        // A step holds the previous value up to the next point's time.
        if (entry.style == Style::Step && !drawn.isEmpty())
            drawn.append(QPointF(double(point.timeMs), drawn.constLast().y()));
        drawn.append(QPointF(double(point.timeMs), point.value));
    }
    entry.series->replace(drawn); // one change signal for the whole series
}

void QtChartsTimeSeriesChart::scheduleFit()
{
    // Each axis change lays the whole chart out again: a page that replaces several series
    // in one go gets one fit, before the next paint.
    if (m_isFitPending)
        return;
    m_isFitPending = true;
    QMetaObject::invokeMethod(this, &QtChartsTimeSeriesChart::fitAxes, Qt::QueuedConnection);
}

void QtChartsTimeSeriesChart::fitAxes()
{
    m_isFitPending = false;
    qint64 fromMs = std::numeric_limits<qint64>::max();
    qint64 toMs = std::numeric_limits<qint64>::min();
    double maxValue = 0;
    bool hasPoints = false;
    for (const Entry &entry : std::as_const(m_entries)) {
        for (const Point &point : entry.points) {
            fromMs = std::min(fromMs, point.timeMs);
            toMs = std::max(toMs, point.timeMs);
            maxValue = std::max(maxValue, point.value);
            hasPoints = true;
        }
    }
    m_frame.showPlot(hasPoints);
    if (m_fixedFromMs < m_fixedToMs) {
        fromMs = m_fixedFromMs;
        toMs = m_fixedToMs;
    } else if (!hasPoints) {
        return;
    }
    if (toMs - fromMs < kMinimumSpanMs)
        fromMs = toMs - kMinimumSpanMs;
    m_timeAxis->setRange(QDateTime::fromMSecsSinceEpoch(fromMs),
                         QDateTime::fromMSecsSinceEpoch(toMs));
    QtChartsFrame::fitValueAxis(m_valueAxis, maxValue, m_unit);
}

void QtChartsTimeSeriesChart::showHover(const QString &label, const QPointF &point, bool isInside)
{
    if (!isInside) {
        QToolTip::hideText();
        return;
    }
    const QString time =
        QDateTime::fromMSecsSinceEpoch(qint64(point.x())).toString(m_timeAxis->format());
    QToolTip::showText(QCursor::pos(),
                       tr("%1\n%2: %3").arg(label, time, ValueFormat::format(m_unit, point.y())),
                       this);
}

} // namespace tollgate
