#include "MainWindow.h"

#include "DesktopSettings.h"

#include <QCloseEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QShortcut>
#include <QStackedWidget>
#include <QStatusBar>
#include <QVBoxLayout>

namespace tollgate {

namespace {
constexpr int kIdRole = Qt::UserRole;
}

MainWindow::MainWindow(DesktopSettings *settings, QWidget *parent)
    : QMainWindow(parent)
    , m_settings(settings)
{
    setWindowTitle(tr("Tollgate"));
    setWindowIcon(QIcon(QStringLiteral(":/tollgate/icons/tollgate.svg")));
    setObjectName(QStringLiteral("MainWindow")); // saveState() needs object names

    auto *central = new QWidget(this);
    auto *layout = new QHBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);

    m_navigation = new QListWidget(central);
    m_navigation->setObjectName(QStringLiteral("navigation"));
    m_navigation->setAccessibleName(tr("Pages"));
    m_navigation->setAccessibleDescription(tr("Choose the page to show"));
    m_navigation->setSelectionMode(QAbstractItemView::SingleSelection);
    m_navigation->setIconSize(QSize(20, 20));
    m_navigation->setUniformItemSizes(true);
    m_navigation->setFixedWidth(170);
    m_navigation->setFrameShape(QFrame::NoFrame);
    layout->addWidget(m_navigation);

    m_stack = new QStackedWidget(central);
    m_stack->setObjectName(QStringLiteral("pages"));
    layout->addWidget(m_stack, 1);
    setCentralWidget(central);

    m_proxyStatus = new QLabel(this);
    m_proxyStatus->setObjectName(QStringLiteral("proxyStatus"));
    m_proxyStatus->setAccessibleName(tr("Proxy status"));
    m_logStatus = new QLabel(this);
    m_logStatus->setObjectName(QStringLiteral("requestLogStatus"));
    m_logStatus->setAccessibleName(tr("Request log status"));
    statusBar()->addPermanentWidget(m_proxyStatus);
    statusBar()->addPermanentWidget(m_logStatus);

    connect(m_navigation, &QListWidget::currentRowChanged, this, &MainWindow::onCurrentRowChanged);

    resize(1100, 720);
    if (m_settings) {
        restoreGeometry(m_settings->windowGeometry());
        restoreState(m_settings->windowState());
        m_restoredPage = m_settings->currentPage();
    }
}

MainWindow::~MainWindow()
{
    saveWindowState();
}

void MainWindow::addPage(const QString &id, const QString &title, QWidget *page, const QIcon &icon)
{
    Q_ASSERT(!itemFor(id));
    page->setParent(m_stack);
    if (page->accessibleName().isEmpty())
        page->setAccessibleName(title);
    m_stack->addWidget(page);
    auto *item = new QListWidgetItem(icon, title);
    item->setData(kIdRole, id);
    item->setData(Qt::AccessibleTextRole, title);
    item->setToolTip(title);
    m_navigation->addItem(item);
    // Ctrl+1 ... Ctrl+9 jump straight to the first nine pages.
    if (m_navigation->count() <= 9) {
        auto *shortcut = new QShortcut(
            QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_0 + m_navigation->count())), this);
        connect(shortcut, &QShortcut::activated, this, [this, id] { showPage(id); });
        item->setToolTip(
            tr("%1 (%2)").arg(title, shortcut->key().toString(QKeySequence::NativeText)));
    }
    // The first page, or the one the user left the window on last time.
    if (m_navigation->count() == 1 || id == m_restoredPage)
        showPage(id);
}

void MainWindow::addPlaceholderPage(const QString &id, const QString &title, const QString &text,
                                    const QIcon &icon)
{
    auto *page = new QWidget;
    auto *layout = new QVBoxLayout(page);
    auto *heading = new QLabel(title, page);
    QFont font = heading->font();
    font.setPointSizeF(font.pointSizeF() * 1.4);
    font.setBold(true);
    heading->setFont(font);
    auto *explanation = new QLabel(text, page);
    explanation->setWordWrap(true);
    explanation->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    explanation->setFocusPolicy(Qt::StrongFocus); // reachable by Tab, read by screen readers
    explanation->setAccessibleName(title);
    explanation->setAccessibleDescription(text);
    layout->addWidget(heading);
    layout->addWidget(explanation);
    layout->addStretch(1);
    addPage(id, title, page, icon);
}

bool MainWindow::replacePage(const QString &id, QWidget *page)
{
    QListWidgetItem *item = itemFor(id);
    if (!item)
        return false;
    const int index = m_navigation->row(item);
    QWidget *old = m_stack->widget(index);
    const bool isCurrent = m_stack->currentIndex() == index;
    page->setParent(m_stack);
    if (page->accessibleName().isEmpty())
        page->setAccessibleName(item->text());
    m_stack->insertWidget(index, page);
    m_stack->removeWidget(old);
    old->deleteLater();
    if (isCurrent)
        m_stack->setCurrentIndex(index);
    return true;
}

bool MainWindow::showPage(const QString &id)
{
    QListWidgetItem *item = itemFor(id);
    if (!item)
        return false;
    m_navigation->setCurrentItem(item);
    return true;
}

QString MainWindow::currentPageId() const
{
    const QListWidgetItem *item = m_navigation->currentItem();
    return item ? item->data(kIdRole).toString() : QString();
}

QStringList MainWindow::pageIds() const
{
    QStringList ids;
    for (int row = 0; row < m_navigation->count(); ++row)
        ids.append(m_navigation->item(row)->data(kIdRole).toString());
    return ids;
}

QWidget *MainWindow::page(const QString &id) const
{
    const QListWidgetItem *item = itemFor(id);
    return item ? m_stack->widget(m_navigation->row(item)) : nullptr;
}

void MainWindow::setProxyStatus(const QString &text)
{
    m_proxyStatus->setText(text);
}

void MainWindow::setRequestLogStatus(const QString &text)
{
    m_logStatus->setText(text);
}

QString MainWindow::proxyStatus() const
{
    return m_proxyStatus->text();
}

QString MainWindow::requestLogStatus() const
{
    return m_logStatus->text();
}

void MainWindow::showNotice(const QString &text)
{
    statusBar()->showMessage(text);
}

void MainWindow::bringToFront()
{
    if (isMinimized())
        setWindowState((windowState() & ~Qt::WindowMinimized) | Qt::WindowActive);
    show();
    raise();
    activateWindow();
}

void MainWindow::saveWindowState()
{
    if (!m_settings)
        return;
    m_settings->setWindowGeometry(saveGeometry());
    m_settings->setWindowState(saveState());
    // A page not added this run (yet) stays remembered.
    const QString id = currentPageId();
    if (!id.isEmpty())
        m_settings->setCurrentPage(id);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveWindowState();
    if (m_hidesToTray) {
        event->ignore();
        hide();
        return;
    }
    event->accept();
    emit quitRequested();
}

void MainWindow::onCurrentRowChanged(int row)
{
    if (row < 0)
        return;
    m_stack->setCurrentIndex(row);
    if (currentPageId() == m_restoredPage)
        m_restoredPage.clear(); // restored: from now on the user's choice stands
    emit currentPageChanged(currentPageId());
}

QListWidgetItem *MainWindow::itemFor(const QString &id) const
{
    for (int row = 0; row < m_navigation->count(); ++row) {
        QListWidgetItem *item = m_navigation->item(row);
        if (item->data(kIdRole).toString() == id)
            return item;
    }
    return nullptr;
}

} // namespace tollgate
