#include "charts/QtChartsBarBreakdownChart.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QHorizontalBarSeries>
#include <QLegend>
#include <QToolTip>
#include <QValueAxis>
#include <algorithm>

namespace tollgate {

QtChartsBarBreakdownChart::QtChartsBarBreakdownChart(QWidget *parent)
    : BarBreakdownChart(parent)
    , m_chart(new QChart)
    , m_frame(this, m_chart)
{
    m_chart->legend()->hide();
    m_series = new QHorizontalBarSeries;
    m_set = new QBarSet(QString());
    m_series->append(m_set);
    m_chart->addSeries(m_series);
    m_categoryAxis = new QBarCategoryAxis(m_chart);
    m_valueAxis = new QValueAxis(m_chart);
    m_chart->addAxis(m_categoryAxis, Qt::AlignLeft);
    m_chart->addAxis(m_valueAxis, Qt::AlignBottom);
    m_series->attachAxis(m_categoryAxis);
    m_series->attachAxis(m_valueAxis);
    connect(m_set, &QBarSet::hovered, this, &QtChartsBarBreakdownChart::showHover);

    setMinimumHeight(160);
}

QtChartsBarBreakdownChart::~QtChartsBarBreakdownChart() = default;

void QtChartsBarBreakdownChart::setTitle(const QString &title)
{
    m_frame.setTitle(title);
}

void QtChartsBarBreakdownChart::setValueUnit(ValueFormat::Unit unit)
{
    m_unit = unit;
    redraw();
}

void QtChartsBarBreakdownChart::setPlaceholderText(const QString &text)
{
    m_frame.setPlaceholderText(text);
}

void QtChartsBarBreakdownChart::setBars(const QList<Bar> &bars)
{
    if (bars == m_bars)
        return;
    m_bars = bars;
    redraw();
}

QList<BarBreakdownChart::Bar> QtChartsBarBreakdownChart::bars() const
{
    return m_bars;
}

void QtChartsBarBreakdownChart::redraw()
{
    // Qt Charts draws the first category at the bottom: hand them over reversed so the
    // first bar is on top. Labels must be unique, so a repeated one gets a count.
    QStringList categories;
    QList<qreal> values;
    QStringList summary;
    double maxValue = 0;
    for (qsizetype i = m_bars.size() - 1; i >= 0; --i) {
        const Bar &bar = m_bars.at(i);
        QString category = tr("%1  %2").arg(bar.label, ValueFormat::format(m_unit, bar.value));
        while (categories.contains(category))
            category += u' ';
        categories.append(category);
        values.append(bar.value);
        maxValue = std::max(maxValue, bar.value);
    }
    for (const Bar &bar : std::as_const(m_bars))
        summary.append(tr("%1: %2").arg(bar.label, ValueFormat::format(m_unit, bar.value)));
    m_set->remove(0, m_set->count());
    m_categoryAxis->clear();
    m_categoryAxis->append(categories);
    m_set->append(values);
    QtChartsFrame::fitValueAxis(m_valueAxis, maxValue, m_unit);
    // Screen readers get the figures the bars show.
    setAccessibleDescription(summary.join(QStringLiteral("; ")));
    m_frame.showPlot(!m_bars.isEmpty());
}

void QtChartsBarBreakdownChart::showHover(bool isInside, int index)
{
    // Indexes count from the bottom bar, the last of m_bars.
    const qsizetype barIndex = m_bars.size() - 1 - index;
    if (!isInside || barIndex < 0 || barIndex >= m_bars.size()) {
        QToolTip::hideText();
        return;
    }
    const Bar &bar = m_bars.at(barIndex);
    QToolTip::showText(QCursor::pos(), bar.toolTip.isEmpty() ? bar.label : bar.toolTip, this);
}

} // namespace tollgate
