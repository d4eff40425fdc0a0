/* A small console program without the C runtime start-up code: kernel32
 * and msvcrt imports only. Built as the fake smss.exe (with a version
 * resource that claims to be smss.exe) and as the generic tool that is
 * signed and copied under look-alike names. Test sample only. */
__declspec(dllimport) int __cdecl printf(const char *, ...);
__declspec(dllimport) void __stdcall ExitProcess(unsigned int);
__declspec(dllimport) unsigned long __stdcall GetCurrentProcessId(void);

#ifndef MESSAGE
#define MESSAGE "smss-triage test tool"
#endif

void mainCRTStartup(void)
{
    printf("%s (pid %lu)\n", MESSAGE, GetCurrentProcessId());
    ExitProcess(0);
}
