#include "charts/BarBreakdownChart.h"

#include "charts/QtChartsBarBreakdownChart.h"

namespace tollgate {

BarBreakdownChart::BarBreakdownChart(QWidget *parent)
    : QWidget(parent)
{
}

BarBreakdownChart *BarBreakdownChart::create(QWidget *parent)
{
    return new QtChartsBarBreakdownChart(parent);
}

} // namespace tollgate
