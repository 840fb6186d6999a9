#pragma once

#include <QCoreApplication>
#include <QString>
#include <optional>

namespace tollgate {

// What the tray shows, decided from the app's state alone: the icon, the tooltip and the
// labels of the menu. A plain value with no widgets, so every rule is unit-tested.
class TrayState
{
    Q_DECLARE_TR_FUNCTIONS(tollgate::TrayState)

public:
    enum class Proxy { Off, Starting, On, Stopping, Failed };
    enum class Icon { On, Off, Error, Warning };
    // The panel the icon sits on: its colours must contrast with it. Template: macOS menu
    // bar images, drawn in black with alpha only and tinted by the system.
    enum class Panel { Light, Dark, Template };

    Proxy proxy() const { return m_proxy; }
    // error: why the proxy stopped or could not start (Failed only).
    void setProxy(Proxy proxy, const QString &error = {});
    QString errorMessage() const { return m_error; }

    quint16 port() const { return m_port; }
    void setPort(quint16 port) { m_port = port; }

    // A problem the running proxy has with the upstream (the key was rejected): the icon
    // turns to error while the proxy keeps serving. Empty clears it.
    QString upstreamProblem() const { return m_upstreamProblem; }
    void setUpstreamProblem(const QString &problem) { m_upstreamProblem = problem; }

    // The request log cannot be written (locked, read-only, disk full): the proxy keeps
    // serving and keeps the rows for later, but the user should know. Empty clears it.
    QString storeProblem() const { return m_storeProblem; }
    void setStoreProblem(const QString &problem) { m_storeProblem = problem; }

    // A budget is close to its limit. Empty clears it.
    QString budgetWarning() const { return m_budgetWarning; }
    void setBudgetWarning(const QString &warning) { m_budgetWarning = warning; }

    qint64 todayCostPicoUsd() const { return m_todayCostPicoUsd; }
    qint64 todayRequests() const { return m_todayRequests; }
    void setToday(qint64 costPicoUsd, qint64 requests);
    // One finished request; cost empty when its model has no price.
    void addRequest(std::optional<qint64> costPicoUsd);

    Icon icon() const;
    // The resource path of the icon for this panel (":/tollgate/icons/tray-on-dark.svg").
    QString iconPath(Panel panel) const;
    static QString iconPath(Icon icon, Panel panel);
    // The panel variant that contrasts with a panel of this lightness (0..255).
    static Panel panelForLightness(int windowLightness);

    // "Tollgate: on, port 8787, today $1.23", with a second line for a problem.
    QString toolTip() const;
    QString statusText() const; // "on, port 8787", "off", "error: ..."
    // The first menu item: "Stop proxy" or "Start proxy"; disabled while it changes.
    QString toggleText() const;
    bool isToggleEnabled() const;
    // The live menu item: "Today: $1.23 · 42 requests".
    QString todayText() const;

    // Whole cents, rounded half up ("$1.23"); an amount under half a cent that is not zero
    // reads "<$0.01" so that a day with traffic never looks free.
    static QString formatCost(qint64 picoUsd);

    bool operator==(const TrayState &other) const = default;

private:
    Proxy m_proxy = Proxy::Off;
    QString m_error;
    quint16 m_port = 0;
    QString m_upstreamProblem;
    QString m_storeProblem;
    QString m_budgetWarning;
    qint64 m_todayCostPicoUsd = 0;
    qint64 m_todayRequests = 0;
};

} // namespace tollgate
