#include "ClaudeCodeSetupDialog.h"

#include "ClaudeCodeSettings.h"
#include "config/ClientSetup.h"

#include <QClipboard>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFontDatabase>
#include <QFontMetrics>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTextDocument>
#include <QVBoxLayout>

namespace tollgate {

ClaudeCodeSetupDialog::ClaudeCodeSetupDialog(const QString &baseUrl, const QByteArray &virtualKey,
                                             const QString &settingsPath, QWidget *parent)
    : QDialog(parent)
    , m_baseUrl(baseUrl)
    , m_virtualKey(virtualKey)
    , m_settingsPath(settingsPath)
{
    setWindowTitle(tr("Configure Claude Code"));

    auto *intro = new QLabel(tr("Start Claude Code, or any Anthropic SDK client, with these two "
                                "variables set in its shell:"));
    intro->setWordWrap(true);

    // The lines in the syntax of the shell they are pasted into; the platform's by default.
    m_shell = new QComboBox;
    for (const ClientSetup::Shell shell : ClientSetup::kShells) {
        m_shell->addItem(ClientSetup::shellName(shell), int(shell));
        if (shell == ClientSetup::platformShell())
            m_shell->setCurrentIndex(m_shell->count() - 1);
    }
    m_shell->setAccessibleName(tr("Shell"));
    auto *shellLabel = new QLabel(tr("&Shell:"));
    shellLabel->setBuddy(m_shell);
    auto *shellLine = new QHBoxLayout;
    shellLine->addWidget(shellLabel);
    shellLine->addWidget(m_shell);
    shellLine->addStretch();

    m_commands = new QPlainTextEdit(commandsText());
    m_commands->setReadOnly(true);
    m_commands->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_commands->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_commands->setAccessibleName(tr("Setup commands"));
    m_commands->setTabChangesFocus(true);
    // Both lines whole in every shell's syntax, so that switching shells never brings a
    // scroll bar: the widest line of them all, and two lines high.
    const QFontMetrics metrics(m_commands->font());
    int widest = 0;
    for (const ClientSetup::Shell shell : ClientSetup::kShells) {
        const QString lines = ClientSetup::lines(shell, m_baseUrl, QString::fromUtf8(m_virtualKey));
        for (const QString &line : lines.split(u'\n'))
            widest = qMax(widest, metrics.horizontalAdvance(line));
    }
    const int margins =
        2 * (m_commands->frameWidth() + int(m_commands->document()->documentMargin()) + 2);
    m_commands->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    m_commands->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_commands->setMinimumWidth(widest + margins + metrics.averageCharWidth());
    m_commands->setFixedHeight(metrics.lineSpacing() * 2 + margins);
    connect(m_shell, &QComboBox::currentIndexChanged, this,
            [this] { m_commands->setPlainText(commandsText()); });

    m_copyButton = new QPushButton(tr("&Copy"));
    m_copyButton->setAccessibleDescription(tr("Copy both lines to the clipboard"));
    connect(m_copyButton, &QPushButton::clicked, this, &ClaudeCodeSetupDialog::copyCommands);
    auto *commandsLine = new QHBoxLayout;
    commandsLine->addWidget(m_commands, 1);
    commandsLine->addWidget(m_copyButton, 0, Qt::AlignTop);

    auto *fileIntro = new QLabel(
        tr("Or set them for every Claude Code session in its settings file, %1. Apply keeps "
           "everything else in the file and saves the previous file next to it; Undo puts it "
           "back.")
            .arg(QDir::toNativeSeparators(settingsPath)));
    fileIntro->setWordWrap(true);

    m_applyButton = new QPushButton(tr("&Apply to Claude Code"));
    m_undoButton = new QPushButton(tr("&Undo"));
    m_undoButton->setAccessibleDescription(tr("Restore Claude Code's previous settings"));
    connect(m_applyButton, &QPushButton::clicked, this, &ClaudeCodeSetupDialog::applyToClaudeCode);
    connect(m_undoButton, &QPushButton::clicked, this, &ClaudeCodeSetupDialog::undoClaudeCode);
    auto *fileButtons = new QHBoxLayout;
    fileButtons->addWidget(m_applyButton);
    fileButtons->addWidget(m_undoButton);
    fileButtons->addStretch();

    m_result = new QLabel;
    m_result->setWordWrap(true);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_result->setAccessibleName(tr("Result"));

    auto *close = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(close, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(shellLine);
    layout->addLayout(commandsLine);
    layout->addSpacing(metrics.lineSpacing());
    layout->addWidget(fileIntro);
    layout->addLayout(fileButtons);
    layout->addWidget(m_result);
    layout->addStretch();
    layout->addWidget(close);

    setTabOrder(m_shell, m_commands);
    setTabOrder(m_commands, m_copyButton);
    setTabOrder(m_copyButton, m_applyButton);
    setTabOrder(m_applyButton, m_undoButton);
    setTabOrder(m_undoButton, close);
    m_copyButton->setFocus();
    updateButtons();
}

ClaudeCodeSetupDialog::~ClaudeCodeSetupDialog() = default;

QString ClaudeCodeSetupDialog::commandsText() const
{
    return ClientSetup::lines(ClientSetup::Shell(m_shell->currentData().toInt()), m_baseUrl,
                              QString::fromUtf8(m_virtualKey));
}

QString ClaudeCodeSetupDialog::commands() const
{
    return m_commands->toPlainText();
}

void ClaudeCodeSetupDialog::setShell(int shell)
{
    m_shell->setCurrentIndex(m_shell->findData(shell));
}

QString ClaudeCodeSetupDialog::resultText() const
{
    return m_result->text();
}

void ClaudeCodeSetupDialog::copyCommands()
{
    QGuiApplication::clipboard()->setText(m_commands->toPlainText());
    showResult(tr("Copied both lines to the clipboard."));
}

void ClaudeCodeSetupDialog::applyToClaudeCode()
{
    QString error;
    if (!ClaudeCodeSettings::apply(m_settingsPath, m_baseUrl, m_virtualKey, &error))
        showResult(tr("Claude Code's settings were not changed. %1").arg(error));
    else
        showResult(
            tr("Done: Claude Code sessions started from now on go through Tollgate. "
               "The previous settings are kept in %1.")
                .arg(QDir::toNativeSeparators(ClaudeCodeSettings::backupPath(m_settingsPath))));
    updateButtons();
}

void ClaudeCodeSetupDialog::undoClaudeCode()
{
    QString error;
    const std::optional<ClaudeCodeSettings::Undone> undone =
        ClaudeCodeSettings::undo(m_settingsPath, &error);
    if (!undone) {
        showResult(tr("Nothing was undone. %1").arg(error));
        updateButtons();
        return;
    }
    switch (*undone) {
    case ClaudeCodeSettings::Undone::RestoredBackup:
        showResult(tr("Claude Code's settings are back as they were before."));
        break;
    case ClaudeCodeSettings::Undone::RemovedFile:
        showResult(tr("Removed the settings file Tollgate had created; Claude Code is back to "
                      "its defaults."));
        break;
    case ClaudeCodeSettings::Undone::RemovedEntries:
        showResult(tr("Took Tollgate's two entries out of Claude Code's settings; the other "
                      "changes made since were kept."));
        break;
    case ClaudeCodeSettings::Undone::NothingToUndo:
        showResult(tr("Claude Code's settings do not point at Tollgate: nothing to undo."));
        break;
    }
    updateButtons();
}

void ClaudeCodeSetupDialog::showResult(const QString &text)
{
    m_result->setText(text);
}

void ClaudeCodeSetupDialog::updateButtons()
{
    const bool isApplied = ClaudeCodeSettings::isApplied(m_settingsPath, m_baseUrl, m_virtualKey);
    m_applyButton->setEnabled(!isApplied);
    m_undoButton->setEnabled(isApplied || ClaudeCodeSettings::hasBackup(m_settingsPath));
    // A disabled button cannot keep the focus: keep keyboard users on the other one.
    if (m_applyButton->hasFocus() && isApplied)
        m_undoButton->setFocus();
    else if (m_undoButton->hasFocus() && !m_undoButton->isEnabled())
        m_applyButton->setFocus();
}

} // namespace tollgate
