; Inno Setup 6 script: a per-user installer (no admin rights) for the one-folder bundle
; dist\rfm-desktop\ made by `python build\build.py`.
;
;   iscc /DAppVersion=0.1.0 build\windows\rfm-desktop.iss
;
; -> dist\installer\rfm-desktop-<version>-windows-x64-setup.exe
; Installs to {autopf}\RFM Desktop, which with PrivilegesRequired=lowest is {userpf}
; (%LOCALAPPDATA%\Programs\RFM Desktop); Start-menu entry, optional desktop icon, uninstaller.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "RFM Desktop"
#define AppExe "rfm-desktop.exe"

[Setup]
; Keep AppId stable across versions: upgrades replace the installed copy.
AppId={{6F1B7C52-3E0A-4C1D-9B55-0B8E6F4A2D17}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=RFM Desktop
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\RFM Desktop
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist\installer
OutputBaseFilename=rfm-desktop-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\app.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\rfm-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; A new version may ship fewer files: start from a clean _internal folder.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
