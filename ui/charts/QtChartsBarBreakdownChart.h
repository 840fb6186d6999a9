#pragma once

#include "charts/BarBreakdownChart.h"
#include "charts/QtChartsFrame.h"

class QBarCategoryAxis;
class QBarSet;
class QChart;
class QHorizontalBarSeries;
class QValueAxis;

namespace tollgate {

// BarBreakdownChart drawn with Qt Charts: one QBarSet in a QHorizontalBarSeries, the
// category labels carrying each bar's amount so it reads without hovering.
class QtChartsBarBreakdownChart final : public BarBreakdownChart
{
    Q_OBJECT

public:
    explicit QtChartsBarBreakdownChart(QWidget *parent = nullptr);
    ~QtChartsBarBreakdownChart() override;

    void setTitle(const QString &title) override;
    void setValueUnit(ValueFormat::Unit unit) override;
    void setPlaceholderText(const QString &text) override;
    void setBars(const QList<Bar> &bars) override;
    QList<Bar> bars() const override;

private:
    void redraw();
    void showHover(bool isInside, int index);

    QChart *m_chart = nullptr; // owned by the frame's view
    QtChartsFrame m_frame;
    QHorizontalBarSeries *m_series = nullptr; // owned by m_chart
    QBarSet *m_set = nullptr; // owned by m_series
    QBarCategoryAxis *m_categoryAxis = nullptr;
    QValueAxis *m_valueAxis = nullptr;
    QList<Bar> m_bars;
    ValueFormat::Unit m_unit = ValueFormat::Unit::Usd;
};

} // namespace tollgate
