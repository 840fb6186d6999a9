#pragma once

namespace tollgate {

// What a click on the tray icon does, per tray host, with the clicks of a double click
// folded into one decision. Pure logic: the controller feeds it activations and asks for
// the outcome once the double-click interval has passed.
//
// Where the host delivers clicks (Windows, KDE Plasma, X11 trays) a click toggles the
// proxy and a double click opens the window. On macOS and on GNOME's AppIndicator a click
// opens the menu, so the click itself does nothing more: toggling as well would both open
// the menu and flip the proxy. A double click also arrives as a click first (QTBUG-69698),
// so only the last activation within the interval counts.
class TrayActivationPolicy
{
public:
    enum class Host {
        Windows,
        MacOs,
        KdePlasma,
        X11Tray, // an XEmbed or StatusNotifier host that delivers clicks (Xfce, LXQt, ...)
        AppIndicator, // GNOME Shell's AppIndicator extension: a click opens the menu
    };
    // Mirrors QSystemTrayIcon::ActivationReason, without a widgets dependency.
    enum class Reason { Unknown, Context, DoubleClick, Trigger, MiddleClick };
    enum class Action { None, ToggleProxy, OpenWindow };

    explicit TrayActivationPolicy(Host host = Host::X11Tray)
        : m_host(host)
    {
    }

    Host host() const { return m_host; }
    void setHost(Host host) { m_host = host; }

    // The action for one activation taken alone.
    Action actionFor(Reason reason) const;

    // Coalescing: record each activation as it arrives; settle() once the double-click
    // interval passed after the first one gives the action of the last, and starts over.
    // Returns true when this activation opened a new window of coalescing (the caller starts
    // its timer then).
    bool record(Reason reason);
    bool isPending() const { return m_isPending; }
    Action settle();

private:
    Host m_host;
    Reason m_pending = Reason::Unknown;
    bool m_isPending = false;
};

} // namespace tollgate
