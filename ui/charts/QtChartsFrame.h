#pragma once

#include "charts/ValueFormat.h"

#include <QString>

class QChart;
class QChartView;
class QLabel;
class QStackedLayout;
class QValueAxis;
class QWidget;

namespace tollgate {

// What the Qt Charts adapters share: the host widget's layout with a QChartView, and a
// placeholder label shown instead of the plot while there is nothing to draw. The view owns
// the chart; the host widget owns the view and the label.
class QtChartsFrame
{
public:
    QtChartsFrame(QWidget *host, QChart *chart);

    QChart *chart() const { return m_chart; }
    // The chart's title, and the host's accessible name unless the page named it.
    void setTitle(const QString &title);
    void setPlaceholderText(const QString &text);
    void showPlot(bool hasData);
    // From zero to a round number above maxValue, labelled for the unit.
    static void fitValueAxis(QValueAxis *axis, double maxValue, ValueFormat::Unit unit);

private:
    QWidget *m_host = nullptr;
    QChart *m_chart = nullptr;
    QChartView *m_view = nullptr;
    QLabel *m_placeholder = nullptr;
    QStackedLayout *m_stack = nullptr;
};

} // namespace tollgate
