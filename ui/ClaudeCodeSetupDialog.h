#pragma once

#include <QByteArray>
#include <QDialog>
#include <QString>

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace tollgate {

// "Configure Claude Code…": shows the two environment variables that point a client at the
// gateway (with a button to copy them), and applies them to or takes them out of Claude
// Code's settings file through ClaudeCodeSettings, saying what happened. Open it with
// open() or show(): it never runs an event loop of its own.
class ClaudeCodeSetupDialog : public QDialog
{
    Q_OBJECT

public:
    // baseUrl: the gateway, http://127.0.0.1:PORT; virtualKey: the key clients present;
    // settingsPath: Claude Code's settings file (ClaudeCodeSettings::defaultPath()).
    ClaudeCodeSetupDialog(const QString &baseUrl, const QByteArray &virtualKey,
                          const QString &settingsPath, QWidget *parent = nullptr);
    ~ClaudeCodeSetupDialog() override;

    // The two shell lines, one per line: export ANTHROPIC_BASE_URL=..., export
    // ANTHROPIC_API_KEY=...
    static QString exportLines(const QString &baseUrl, const QByteArray &virtualKey);

    // What the last Copy, Apply or Undo did, as shown.
    QString resultText() const;

public slots:
    void copyCommands();
    void applyToClaudeCode();
    void undoClaudeCode();

private:
    void showResult(const QString &text);
    void updateButtons();

    QString m_baseUrl;
    QByteArray m_virtualKey;
    QString m_settingsPath;
    QPlainTextEdit *m_commands = nullptr;
    QPushButton *m_copyButton = nullptr;
    QPushButton *m_applyButton = nullptr;
    QPushButton *m_undoButton = nullptr;
    QLabel *m_result = nullptr;
};

} // namespace tollgate
