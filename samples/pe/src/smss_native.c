/* A native-subsystem image with the shape of the genuine smss.exe: entry
 * point NtProcessStartup, no C runtime, imports from ntdll.dll only. It
 * prints a line on the boot screen and ends itself. Test sample only. */
typedef long NTSTATUS;
typedef void *HANDLE;
typedef struct {
    unsigned short Length;
    unsigned short MaximumLength;
    unsigned short *Buffer;
} UNICODE_STRING;

__declspec(dllimport) void __stdcall RtlInitUnicodeString(UNICODE_STRING *, const unsigned short *);
__declspec(dllimport) NTSTATUS __stdcall NtDisplayString(UNICODE_STRING *);
__declspec(dllimport) NTSTATUS __stdcall NtTerminateProcess(HANDLE, NTSTATUS);

void __stdcall NtProcessStartup(void *peb)
{
    (void)peb;
    UNICODE_STRING message;
    RtlInitUnicodeString(&message, (const unsigned short *)L"smss-triage test sample\n");
    NtDisplayString(&message);
    NtTerminateProcess((HANDLE)-1, 0);
}
