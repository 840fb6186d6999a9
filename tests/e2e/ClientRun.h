#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

namespace tollgate::test {

// One run of a real client against an in-process gateway: a node script of tests/e2e or the
// Claude Code CLI installed there by `npm ci`. The environment tells the client where the
// gateway is; the run waits with the event loop spinning (the gateway's signals and the mock
// upstream live on this thread) and keeps what the client printed.
class ClientRun
{
public:
    // tests/e2e in the source tree: the scripts and their node_modules.
    static QString e2eDir();
    // Whether `npm ci` installed this package into e2eDir().
    static bool hasPackage(const QString &name);
    // The system environment pointed at the gateway on this port for Anthropic clients:
    // ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY (the test virtual key), no ANTHROPIC_AUTH_TOKEN.
    static QProcessEnvironment anthropicEnvironment(quint16 gatewayPort);
    // The same for the openai SDK: OPENAI_BASE_URL (ending in /v1), OPENAI_API_KEY, and no
    // organisation or project header from the developer's own environment.
    static QProcessEnvironment openAiEnvironment(quint16 gatewayPort);
    // Claude Code with its HOME in this (temporary) folder and no nonessential traffic.
    static QProcessEnvironment claudeCodeEnvironment(quint16 gatewayPort, const QString &home);

    // `node script` in e2eDir(); false when it did not end within timeoutMs.
    bool runNode(const QString &script, const QProcessEnvironment &environment,
                 int timeoutMs = 60000);
    // node_modules/.bin/claude in workingDirectory, non-interactive: `-p prompt
    // --output-format json --allowedTools allowedTools`, the result as the last output line.
    bool runClaudeCode(const QString &prompt, const QString &allowedTools,
                       const QString &workingDirectory, const QProcessEnvironment &environment,
                       int timeoutMs = 120000);
    bool run(const QString &program, const QStringList &arguments, const QString &workingDirectory,
             const QProcessEnvironment &environment, int timeoutMs);

    bool hasSucceeded() const { return m_hasSucceeded; } // ended normally with exit code 0
    const QByteArray &output() const { return m_output; }
    const QByteArray &errors() const { return m_errors; }
    QByteArray diagnostics() const { return m_output + m_errors; } // for a failure message
    // The last line of the output as a JSON object (empty when it is not one).
    QJsonObject lastJsonLine() const;

private:
    bool m_hasSucceeded = false;
    QByteArray m_output;
    QByteArray m_errors;
};

} // namespace tollgate::test
