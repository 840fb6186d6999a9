// What the tray shows and what a click on it does: the icon tells the state at a glance,
// the tooltip and menu say state, port and today's cost, and a click toggles the proxy
// only where the platform delivers clicks.
#include "TrayActivationPolicy.h"
#include "TrayState.h"

#include <QFile>
#include <QIcon>
#include <QImage>
#include <QPainter>
#include <QRegularExpression>
#include <QSvgRenderer>
#include <QTest>

using namespace tollgate;

using Proxy = TrayState::Proxy;
using Icon = TrayState::Icon;
using Panel = TrayState::Panel;
using Host = TrayActivationPolicy::Host;
using Reason = TrayActivationPolicy::Reason;
using Action = TrayActivationPolicy::Action;

namespace {
constexpr qint64 kDollar = 1'000'000'000'000; // pico-USD

TrayState runningOn(quint16 port)
{
    TrayState state;
    state.setProxy(Proxy::On);
    state.setPort(port);
    return state;
}
} // namespace

class tst_TrayState final : public QObject
{
    Q_OBJECT

private slots:
    void iconTellsTheState_data();
    void iconTellsTheState();
    void toolTipSaysStatePortAndTodaysCost();
    void toolTipNamesTheErrorThatStoppedTheProxy();
    void toolTipAddsTheUpstreamProblem();
    void firstMenuItemStartsOrStopsTheProxy_data();
    void firstMenuItemStartsOrStopsTheProxy();
    void todayItemCountsRequestsAndCost();
    void unpricedRequestCountsButAddsNoCost();
    void stoppingForgetsTheUpstreamProblemOfTheRun();
    void formatsCostInCents_data();
    void formatsCostInCents();
    void picksTheVariantThatContrastsWithThePanel();
    void everyTrayIconIsCompiledInAndRenders();
    void templateIconsAreBlackAndAlphaOnly();
    void clickActsPerHost_data();
    void clickActsPerHost();
    void doubleClickOpensTheWindowWithoutToggling();
    void singleClickTogglesOnceSettled();
    void menuRequestNeitherStartsNorEndsADoubleClick();
};

void tst_TrayState::iconTellsTheState_data()
{
    QTest::addColumn<Proxy>("proxy");
    QTest::addColumn<QString>("upstreamProblem");
    QTest::addColumn<QString>("budgetWarning");
    QTest::addColumn<Icon>("icon");
    const QString none;
    const QString problem = QStringLiteral("The upstream rejected the API key");
    const QString budget = QStringLiteral("90% of today's budget used");
    QTest::newRow("on") << Proxy::On << none << none << Icon::On;
    QTest::newRow("off") << Proxy::Off << none << none << Icon::Off;
    QTest::newRow("starting looks off until it listens")
        << Proxy::Starting << none << none << Icon::Off;
    QTest::newRow("stopping") << Proxy::Stopping << none << none << Icon::Off;
    QTest::newRow("failed to start") << Proxy::Failed << none << none << Icon::Error;
    QTest::newRow("key rejected while on") << Proxy::On << problem << none << Icon::Error;
    QTest::newRow("budget warning") << Proxy::On << none << budget << Icon::Warning;
    QTest::newRow("error outranks warning") << Proxy::On << problem << budget << Icon::Error;
    QTest::newRow("no warning while off") << Proxy::Off << none << budget << Icon::Off;
}

void tst_TrayState::iconTellsTheState()
{
    QFETCH(Proxy, proxy);
    QFETCH(QString, upstreamProblem);
    QFETCH(QString, budgetWarning);
    QFETCH(Icon, icon);
    TrayState state;
    state.setProxy(proxy, QStringLiteral("address in use"));
    state.setUpstreamProblem(upstreamProblem);
    state.setBudgetWarning(budgetWarning);
    QCOMPARE(state.icon(), icon);
}

void tst_TrayState::toolTipSaysStatePortAndTodaysCost()
{
    TrayState state = runningOn(8787);
    state.setToday(kDollar + 23 * kDollar / 100, 42);
    QCOMPARE(state.toolTip(), QStringLiteral("Tollgate: on, port 8787, today $1.23"));
    state.setProxy(Proxy::Off);
    QCOMPARE(state.toolTip(), QStringLiteral("Tollgate: off, today $1.23"));
    state.setProxy(Proxy::Starting);
    QCOMPARE(state.toolTip(), QStringLiteral("Tollgate: starting, today $1.23"));
}

void tst_TrayState::toolTipNamesTheErrorThatStoppedTheProxy()
{
    TrayState state;
    state.setProxy(Proxy::Failed, QStringLiteral("cannot listen on 127.0.0.1:8787: in use"));
    QCOMPARE(state.toolTip(),
             QStringLiteral("Tollgate: error: cannot listen on 127.0.0.1:8787: in use, "
                            "today $0.00"));
}

void tst_TrayState::toolTipAddsTheUpstreamProblem()
{
    TrayState state = runningOn(8787);
    state.setUpstreamProblem(QStringLiteral("The upstream rejected the API key"));
    QCOMPARE(state.toolTip(),
             QStringLiteral("Tollgate: on, port 8787, today $0.00\n"
                            "The upstream rejected the API key"));
}

void tst_TrayState::firstMenuItemStartsOrStopsTheProxy_data()
{
    QTest::addColumn<Proxy>("proxy");
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("isEnabled");
    QTest::newRow("on") << Proxy::On << QStringLiteral("Stop proxy") << true;
    QTest::newRow("off") << Proxy::Off << QStringLiteral("Start proxy") << true;
    QTest::newRow("failed: try again") << Proxy::Failed << QStringLiteral("Start proxy") << true;
    QTest::newRow("starting") << Proxy::Starting << QStringLiteral("Starting proxy…") << false;
    QTest::newRow("stopping") << Proxy::Stopping << QStringLiteral("Stopping proxy…") << false;
}

void tst_TrayState::firstMenuItemStartsOrStopsTheProxy()
{
    QFETCH(Proxy, proxy);
    QFETCH(QString, text);
    QFETCH(bool, isEnabled);
    TrayState state;
    state.setProxy(proxy);
    QCOMPARE(state.toggleText(), text);
    QCOMPARE(state.isToggleEnabled(), isEnabled);
}

void tst_TrayState::todayItemCountsRequestsAndCost()
{
    TrayState state;
    QCOMPARE(state.todayText(), QStringLiteral("Today: $0.00 · 0 requests"));
    state.addRequest(5 * kDollar / 100);
    QCOMPARE(state.todayText(), QStringLiteral("Today: $0.05 · 1 request"));
    state.setToday(12 * kDollar + 34 * kDollar / 100, 41);
    state.addRequest(kDollar);
    QCOMPARE(state.todayText(), QStringLiteral("Today: $13.34 · 42 requests"));
}

void tst_TrayState::unpricedRequestCountsButAddsNoCost()
{
    TrayState state;
    state.setToday(kDollar, 1);
    state.addRequest(std::nullopt);
    QCOMPARE(state.todayRequests(), 2);
    QCOMPARE(state.todayCostPicoUsd(), kDollar);
}

void tst_TrayState::stoppingForgetsTheUpstreamProblemOfTheRun()
{
    TrayState state = runningOn(8787);
    state.setUpstreamProblem(QStringLiteral("The upstream rejected the API key"));
    state.setProxy(Proxy::Off);
    QVERIFY(state.upstreamProblem().isEmpty());
    state.setProxy(Proxy::On);
    QCOMPARE(state.icon(), Icon::On);
}

void tst_TrayState::formatsCostInCents_data()
{
    QTest::addColumn<qint64>("picoUsd");
    QTest::addColumn<QString>("text");
    QTest::newRow("nothing") << qint64(0) << QStringLiteral("$0.00");
    QTest::newRow("a fraction of a cent is not free") << qint64(1) << QStringLiteral("<$0.01");
    QTest::newRow("just under half a cent") << qint64(4'999'999'999) << QStringLiteral("<$0.01");
    QTest::newRow("half a cent rounds up") << qint64(5'000'000'000) << QStringLiteral("$0.01");
    QTest::newRow("1.23") << qint64(1'230'000'000'000) << QStringLiteral("$1.23");
    QTest::newRow("1.235 rounds up") << qint64(1'235'000'000'000) << QStringLiteral("$1.24");
    QTest::newRow("1.2349 rounds down") << qint64(1'234'900'000'000) << QStringLiteral("$1.23");
    QTest::newRow("thousands") << qint64(1234 * kDollar + kDollar / 2)
                               << QStringLiteral("$1234.50");
}

void tst_TrayState::formatsCostInCents()
{
    QFETCH(qint64, picoUsd);
    QFETCH(QString, text);
    QCOMPARE(TrayState::formatCost(picoUsd), text);
}

void tst_TrayState::picksTheVariantThatContrastsWithThePanel()
{
    QCOMPARE(TrayState::panelForLightness(QColor(0x20, 0x20, 0x24).lightness()), Panel::Dark);
    QCOMPARE(TrayState::panelForLightness(QColor(0xef, 0xef, 0xef).lightness()), Panel::Light);
    TrayState state = runningOn(8787);
    QCOMPARE(state.iconPath(Panel::Dark), QStringLiteral(":/tollgate/icons/tray-on-dark.svg"));
    QCOMPARE(state.iconPath(Panel::Light), QStringLiteral(":/tollgate/icons/tray-on-light.svg"));
    QCOMPARE(state.iconPath(Panel::Template),
             QStringLiteral(":/tollgate/icons/tray-on-template.svg"));
}

void tst_TrayState::everyTrayIconIsCompiledInAndRenders()
{
    QStringList paths {QStringLiteral(":/tollgate/icons/tollgate.svg")};
    for (Icon icon : {Icon::On, Icon::Off, Icon::Error, Icon::Warning}) {
        for (Panel panel : {Panel::Light, Panel::Dark, Panel::Template})
            paths.append(TrayState::iconPath(icon, panel));
    }
    QCOMPARE(paths.size(), 13);
    QSet<QByteArray> distinct;
    for (const QString &path : paths) {
        QVERIFY2(QFile::exists(path), qPrintable(path));
        QSvgRenderer renderer(path);
        QVERIFY2(renderer.isValid(), qPrintable(path));
        // Every icon still draws a solid shape at the smallest tray size, 16 px.
        QImage image(16, 16, QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::transparent);
        QPainter painter(&image);
        renderer.render(&painter);
        painter.end();
        int opaque = 0;
        for (int y = 0; y < 16; ++y) {
            for (int x = 0; x < 16; ++x)
                opaque += qAlpha(image.pixel(x, y)) > 200;
        }
        QVERIFY2(opaque > 15, qPrintable(path));
        distinct.insert(
            QByteArray(reinterpret_cast<const char *>(image.constBits()), image.sizeInBytes()));
        QVERIFY(!QIcon(path).isNull());
    }
    QCOMPARE(distinct.size(), paths.size()); // no two states or variants look the same
}

void tst_TrayState::templateIconsAreBlackAndAlphaOnly()
{
    static const QRegularExpression colour(QStringLiteral("#[0-9a-fA-F]{3,6}"));
    for (Icon icon : {Icon::On, Icon::Off, Icon::Error, Icon::Warning}) {
        QFile file(TrayState::iconPath(icon, Panel::Template));
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString svg = QString::fromUtf8(file.readAll());
        auto matches = colour.globalMatch(svg);
        QVERIFY(matches.hasNext());
        while (matches.hasNext())
            QCOMPARE(matches.next().captured(0), QStringLiteral("#000000"));
    }
}

void tst_TrayState::clickActsPerHost_data()
{
    QTest::addColumn<Host>("host");
    QTest::addColumn<Reason>("reason");
    QTest::addColumn<Action>("action");
    QTest::newRow("windows click") << Host::Windows << Reason::Trigger << Action::ToggleProxy;
    QTest::newRow("kde click") << Host::KdePlasma << Reason::Trigger << Action::ToggleProxy;
    QTest::newRow("x11 click") << Host::X11Tray << Reason::Trigger << Action::ToggleProxy;
    QTest::newRow("macos click opens the menu only")
        << Host::MacOs << Reason::Trigger << Action::None;
    QTest::newRow("appindicator click opens the menu only")
        << Host::AppIndicator << Reason::Trigger << Action::None;
    QTest::newRow("windows double click")
        << Host::Windows << Reason::DoubleClick << Action::OpenWindow;
    QTest::newRow("appindicator double click")
        << Host::AppIndicator << Reason::DoubleClick << Action::None;
    QTest::newRow("middle click") << Host::KdePlasma << Reason::MiddleClick << Action::OpenWindow;
    QTest::newRow("context menu") << Host::Windows << Reason::Context << Action::None;
}

void tst_TrayState::clickActsPerHost()
{
    QFETCH(Host, host);
    QFETCH(Reason, reason);
    QFETCH(Action, action);
    QCOMPARE(TrayActivationPolicy(host).actionFor(reason), action);
}

void tst_TrayState::doubleClickOpensTheWindowWithoutToggling()
{
    // QTBUG-69698: a double click arrives as a click first, and its release may add one
    // more click.
    TrayActivationPolicy policy(Host::Windows);
    QVERIFY(policy.record(Reason::Trigger));
    QVERIFY(!policy.record(Reason::DoubleClick));
    QVERIFY(!policy.record(Reason::Trigger));
    QCOMPARE(policy.settle(), Action::OpenWindow);
    QCOMPARE(policy.settle(), Action::None); // settled once only
}

void tst_TrayState::singleClickTogglesOnceSettled()
{
    TrayActivationPolicy policy(Host::KdePlasma);
    QVERIFY(policy.record(Reason::Trigger));
    QVERIFY(policy.isPending());
    QCOMPARE(policy.settle(), Action::ToggleProxy);
    QVERIFY(!policy.isPending());
    QVERIFY(policy.record(Reason::Trigger)); // the next click starts afresh
    QCOMPARE(policy.settle(), Action::ToggleProxy);
}

void tst_TrayState::menuRequestNeitherStartsNorEndsADoubleClick()
{
    TrayActivationPolicy policy(Host::Windows);
    QVERIFY(!policy.record(Reason::Context));
    QVERIFY(!policy.isPending());
    QVERIFY(policy.record(Reason::Trigger));
    QVERIFY(!policy.record(Reason::Context));
    QCOMPARE(policy.settle(), Action::ToggleProxy);
}

QTEST_MAIN(tst_TrayState)
#include "tst_TrayState.moc"
