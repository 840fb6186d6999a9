// The window shell: pages reached from the navigation list by mouse and keyboard, the
// window's place and page remembered across runs, and closing it never strands the app
// without a way back.
#include "DesktopSettings.h"
#include "MainWindow.h"

#include <QApplication>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;

class tst_MainWindow final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void showsTheFirstPageAndSwitchesByNavigation();
    void arrowKeysMoveThroughThePages();
    void ctrlNumberJumpsToAPage();
    void placeholderPageExplainsWhatIsComing();
    void replacesAPlaceholderByTheRealPage();
    void rejectsAnUnknownPage();
    void pagesAndNavigationHaveAccessibleNames();
    void remembersGeometryAndPageAcrossRuns();
    void statusBarShowsProxyAndRequestLog();
    void closeHidesToTheTrayWhenThereIsOne();
    void closeQuitsWithoutATray();

private:
    std::unique_ptr<MainWindow> makeWindow();
    QTemporaryDir *m_dir = nullptr;
    std::unique_ptr<DesktopSettings> m_settings;
};

void tst_MainWindow::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
}

void tst_MainWindow::init()
{
    m_dir = new QTemporaryDir;
    QVERIFY(m_dir->isValid());
    m_settings = std::make_unique<DesktopSettings>(m_dir->filePath(QStringLiteral("desktop.ini")),
                                                   std::nullopt);
}

void tst_MainWindow::cleanup()
{
    m_settings.reset();
    delete m_dir;
}

std::unique_ptr<MainWindow> tst_MainWindow::makeWindow()
{
    auto window = std::make_unique<MainWindow>(m_settings.get());
    window->addPage(QStringLiteral("dashboard"), QStringLiteral("Dashboard"),
                    new QLabel(QStringLiteral("dashboard page")));
    auto *search = new QLineEdit;
    search->setObjectName(QStringLiteral("search"));
    window->addPage(QStringLiteral("requests"), QStringLiteral("Requests"), search);
    window->addPlaceholderPage(QStringLiteral("keys"), QStringLiteral("Keys"),
                               QStringLiteral("Virtual and upstream keys come here."));
    return window;
}

void tst_MainWindow::showsTheFirstPageAndSwitchesByNavigation()
{
    auto window = makeWindow();
    window->show();
    QCOMPARE(window->pageIds(),
             (QStringList {QStringLiteral("dashboard"), QStringLiteral("requests"),
                           QStringLiteral("keys")}));
    QCOMPARE(window->currentPageId(), QStringLiteral("dashboard"));
    auto *stack = window->findChild<QStackedWidget *>(QStringLiteral("pages"));
    QVERIFY(stack);
    QCOMPARE(stack->currentWidget(), window->page(QStringLiteral("dashboard")));

    QSignalSpy changed(window.get(), &MainWindow::currentPageChanged);
    QListWidget *navigation = window->navigation();
    const QRect row = navigation->visualItemRect(navigation->item(1));
    QTest::mouseClick(navigation->viewport(), Qt::LeftButton, {}, row.center());
    QCOMPARE(window->currentPageId(), QStringLiteral("requests"));
    QCOMPARE(stack->currentWidget(), window->page(QStringLiteral("requests")));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.first().first().toString(), QStringLiteral("requests"));

    QVERIFY(window->showPage(QStringLiteral("keys")));
    QCOMPARE(stack->currentWidget(), window->page(QStringLiteral("keys")));
    QCOMPARE(navigation->currentRow(), 2);
}

void tst_MainWindow::arrowKeysMoveThroughThePages()
{
    auto window = makeWindow();
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    window->activateWindow();
    window->navigation()->setFocus();
    QTRY_VERIFY(window->navigation()->hasFocus());
    QTest::keyClick(window->navigation(), Qt::Key_Down);
    QCOMPARE(window->currentPageId(), QStringLiteral("requests"));
    QTest::keyClick(window->navigation(), Qt::Key_End);
    QCOMPARE(window->currentPageId(), QStringLiteral("keys"));
    QTest::keyClick(window->navigation(), Qt::Key_Up);
    QCOMPARE(window->currentPageId(), QStringLiteral("requests"));
    // Tab leaves the navigation for the page's content.
    QTest::keyClick(window->navigation(), Qt::Key_Tab);
    QTRY_COMPARE(QApplication::focusWidget(), window->page(QStringLiteral("requests")));
}

void tst_MainWindow::ctrlNumberJumpsToAPage()
{
    auto window = makeWindow();
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    window->activateWindow();
    QTest::keyClick(window.get(), Qt::Key_3, Qt::ControlModifier);
    QCOMPARE(window->currentPageId(), QStringLiteral("keys"));
    QTest::keyClick(window.get(), Qt::Key_1, Qt::ControlModifier);
    QCOMPARE(window->currentPageId(), QStringLiteral("dashboard"));
}

void tst_MainWindow::placeholderPageExplainsWhatIsComing()
{
    auto window = makeWindow();
    QWidget *keys = window->page(QStringLiteral("keys"));
    QVERIFY(keys);
    QStringList texts;
    for (const QLabel *label : keys->findChildren<QLabel *>())
        texts.append(label->text());
    QVERIFY(texts.contains(QStringLiteral("Keys")));
    QVERIFY(texts.contains(QStringLiteral("Virtual and upstream keys come here.")));
}

void tst_MainWindow::replacesAPlaceholderByTheRealPage()
{
    auto window = makeWindow();
    window->showPage(QStringLiteral("keys"));
    auto *real = new QLabel(QStringLiteral("the keys page"));
    QVERIFY(window->replacePage(QStringLiteral("keys"), real));
    QCOMPARE(window->page(QStringLiteral("keys")), real);
    QCOMPARE(window->findChild<QStackedWidget *>(QStringLiteral("pages"))->currentWidget(), real);
    QCOMPARE(window->pageIds().size(), 3);
}

void tst_MainWindow::rejectsAnUnknownPage()
{
    auto window = makeWindow();
    QVERIFY(!window->showPage(QStringLiteral("nowhere")));
    QCOMPARE(window->currentPageId(), QStringLiteral("dashboard"));
    QVERIFY(!window->page(QStringLiteral("nowhere")));
}

void tst_MainWindow::pagesAndNavigationHaveAccessibleNames()
{
    auto window = makeWindow();
    QVERIFY(!window->navigation()->accessibleName().isEmpty());
    for (const QString &id : window->pageIds())
        QVERIFY2(!window->page(id)->accessibleName().isEmpty(), qPrintable(id));
    QCOMPARE(window->navigation()->item(0)->data(Qt::AccessibleTextRole).toString(),
             QStringLiteral("Dashboard"));
}

void tst_MainWindow::remembersGeometryAndPageAcrossRuns()
{
    const QString path = m_settings->path();
    {
        auto window = makeWindow();
        window->show();
        QVERIFY(QTest::qWaitForWindowExposed(window.get()));
        window->setGeometry(120, 140, 900, 610);
        window->showPage(QStringLiteral("requests"));
        window->close(); // no tray: the window really closes and saves
    }
    m_settings = std::make_unique<DesktopSettings>(path, std::nullopt);
    auto window = makeWindow();
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QCOMPARE(window->currentPageId(), QStringLiteral("requests"));
    QCOMPARE(window->size(), QSize(900, 610));
}

void tst_MainWindow::statusBarShowsProxyAndRequestLog()
{
    auto window = makeWindow();
    window->setProxyStatus(QStringLiteral("Proxy: on, port 8787"));
    window->setRequestLogStatus(
        QStringLiteral("Request log: cannot write: database is locked (retrying)"));
    auto *proxy = window->findChild<QLabel *>(QStringLiteral("proxyStatus"));
    auto *log = window->findChild<QLabel *>(QStringLiteral("requestLogStatus"));
    QVERIFY(proxy && log);
    QCOMPARE(proxy->text(), QStringLiteral("Proxy: on, port 8787"));
    QCOMPARE(log->text(),
             QStringLiteral("Request log: cannot write: database is locked (retrying)"));
    QVERIFY(!proxy->accessibleName().isEmpty());
    QVERIFY(!log->accessibleName().isEmpty());
}

void tst_MainWindow::closeHidesToTheTrayWhenThereIsOne()
{
    auto window = makeWindow();
    window->setHidesToTray(true);
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QSignalSpy quit(window.get(), &MainWindow::quitRequested);
    QVERIFY(!window->close()); // the close is refused: the window only hides
    QVERIFY(window->isHidden());
    QCOMPARE(quit.count(), 0);
    window->bringToFront();
    QVERIFY(window->isVisible());
}

void tst_MainWindow::closeQuitsWithoutATray()
{
    auto window = makeWindow();
    window->setHidesToTray(false);
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QSignalSpy quit(window.get(), &MainWindow::quitRequested);
    QVERIFY(window->close());
    QCOMPARE(quit.count(), 1);
}

QTEST_MAIN(tst_MainWindow)
#include "tst_MainWindow.moc"
