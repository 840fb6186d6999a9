#pragma once

#include <QString>

namespace tollgate {

// The two lines that point a shell's clients (Claude Code, the Anthropic SDKs) at the
// gateway, in the syntax of the shell the user types them into: `export` for sh, bash,
// zsh and fish; `$env:` for PowerShell, the default shell of Windows Terminal; `set` for
// the Command Prompt.
class ClientSetup
{
public:
    enum class Shell { Posix, PowerShell, Cmd };
    static constexpr Shell kShells[] = {Shell::Posix, Shell::PowerShell, Shell::Cmd};

    // PowerShell on Windows, a POSIX shell elsewhere.
    static Shell platformShell();
    // "bash, zsh, fish", "PowerShell", "Command Prompt".
    static QString shellName(Shell shell);
    // ANTHROPIC_BASE_URL, then ANTHROPIC_API_KEY unless key is empty; one per line, quoted
    // where the shell would otherwise read a value differently.
    static QString lines(Shell shell, const QString &baseUrl, const QString &key);
};

} // namespace tollgate
