#include "charts/TimeSeriesChart.h"

#include "charts/QtChartsTimeSeriesChart.h"

namespace tollgate {

TimeSeriesChart::TimeSeriesChart(QWidget *parent)
    : QWidget(parent)
{
}

TimeSeriesChart *TimeSeriesChart::create(QWidget *parent)
{
    return new QtChartsTimeSeriesChart(parent);
}

} // namespace tollgate
