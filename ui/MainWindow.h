#pragma once

#include "DesktopSettings.h"

#include <QIcon>
#include <QMainWindow>
#include <QPointer>

class QLabel;
class QListWidget;
class QListWidgetItem;
class QStackedWidget;

namespace tollgate {

// The window shell: a navigation list on the left, the pages in a stack on the right, and
// a status bar with the proxy's state and the request log's. Pages are added by id; the
// window remembers its geometry, its state and the page last shown. Closing it hides it to
// the tray when there is a tray, and otherwise asks the app to quit: without a tray a
// hidden window could never be brought back.
class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    // settings: where geometry and the current page are remembered (not owned; may be null).
    explicit MainWindow(DesktopSettings *settings, QWidget *parent = nullptr);
    ~MainWindow() override;

    // Appends a page to the navigation; the window takes ownership of page.
    void addPage(const QString &id, const QString &title, QWidget *page, const QIcon &icon = {});
    // A page that comes with later work, showing a short explanatory text meanwhile.
    void addPlaceholderPage(const QString &id, const QString &title, const QString &text,
                            const QIcon &icon = {});
    // Replaces the widget of an existing page (a placeholder by the real page).
    bool replacePage(const QString &id, QWidget *page);
    // Selects the page in the navigation and shows it; false for an unknown id.
    bool showPage(const QString &id);

    QString currentPageId() const;
    QStringList pageIds() const;
    QWidget *page(const QString &id) const;
    QListWidget *navigation() const { return m_navigation; }

    // The two parts of the status bar.
    void setProxyStatus(const QString &text);
    void setRequestLogStatus(const QString &text);
    QString proxyStatus() const;
    QString requestLogStatus() const;
    // A notice shown in the status bar until the user moves on (no dialog).
    void showNotice(const QString &text);

    // Whether closing the window hides it in the tray (true only while a tray exists).
    void setHidesToTray(bool hidesToTray) { m_hidesToTray = hidesToTray; }
    bool hidesToTray() const { return m_hidesToTray; }

    // Shows, un-minimises and raises the window and asks for focus.
    void bringToFront();
    // Writes geometry, state and the current page to the settings.
    void saveWindowState();

signals:
    void currentPageChanged(const QString &id);
    // The window was closed while no tray can bring it back: the app should quit.
    void quitRequested();

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void onCurrentRowChanged(int row);
    QListWidgetItem *itemFor(const QString &id) const;

    QPointer<DesktopSettings> m_settings;
    QListWidget *m_navigation = nullptr;
    QStackedWidget *m_stack = nullptr;
    QLabel *m_proxyStatus = nullptr;
    QLabel *m_logStatus = nullptr;
    QString m_restoredPage; // the page to show once it is added
    bool m_hidesToTray = false;
};

} // namespace tollgate
