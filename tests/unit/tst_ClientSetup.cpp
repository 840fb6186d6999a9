// The setup lines a user pastes into a shell set exactly the two variables, with the
// values intact, in that shell's syntax.
#include "config/ClientSetup.h"

#include <QTest>

using namespace tollgate;

class tst_ClientSetup final : public QObject
{
    Q_OBJECT

private slots:
    void writesEachShellsSyntax();
    void leavesTheKeyOutWhenThereIsNone();
    void quotesWhatAShellWouldExpand();
};

void tst_ClientSetup::writesEachShellsSyntax()
{
    const QString url = QStringLiteral("http://127.0.0.1:8787");
    const QString key = QStringLiteral("tg-Ab3dE5");
    QCOMPARE(ClientSetup::lines(ClientSetup::Shell::Posix, url, key),
             QStringLiteral("export ANTHROPIC_BASE_URL=http://127.0.0.1:8787\n"
                            "export ANTHROPIC_API_KEY=tg-Ab3dE5"));
    QCOMPARE(ClientSetup::lines(ClientSetup::Shell::PowerShell, url, key),
             QStringLiteral("$env:ANTHROPIC_BASE_URL = 'http://127.0.0.1:8787'\n"
                            "$env:ANTHROPIC_API_KEY = 'tg-Ab3dE5'"));
    QCOMPARE(ClientSetup::lines(ClientSetup::Shell::Cmd, url, key),
             QStringLiteral("set \"ANTHROPIC_BASE_URL=http://127.0.0.1:8787\"\n"
                            "set \"ANTHROPIC_API_KEY=tg-Ab3dE5\""));
#ifdef Q_OS_WIN
    QCOMPARE(ClientSetup::platformShell(), ClientSetup::Shell::PowerShell);
#else
    QCOMPARE(ClientSetup::platformShell(), ClientSetup::Shell::Posix);
#endif
}

void tst_ClientSetup::leavesTheKeyOutWhenThereIsNone()
{
    // Passthrough only: a client keeps its own credential.
    QCOMPARE(ClientSetup::lines(ClientSetup::Shell::Posix, QStringLiteral("http://[::1]:9000"), {}),
             QStringLiteral("export ANTHROPIC_BASE_URL='http://[::1]:9000'"));
}

void tst_ClientSetup::quotesWhatAShellWouldExpand()
{
    const QString odd = QStringLiteral("a b'$x`y&z");
    QCOMPARE(ClientSetup::lines(ClientSetup::Shell::Posix, odd, {}),
             QStringLiteral("export ANTHROPIC_BASE_URL='a b'\\''$x`y&z'"));
    QCOMPARE(ClientSetup::lines(ClientSetup::Shell::PowerShell, odd, {}),
             QStringLiteral("$env:ANTHROPIC_BASE_URL = 'a b''$x`y&z'"));
    QCOMPARE(ClientSetup::lines(ClientSetup::Shell::Cmd, odd, {}),
             QStringLiteral("set \"ANTHROPIC_BASE_URL=a b'$x`y&z\""));
}

QTEST_GUILESS_MAIN(tst_ClientSetup)
#include "tst_ClientSetup.moc"
