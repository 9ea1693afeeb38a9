/* The benchmarks' forker (bench/sleepers.py builds and runs it): forks N children that block
 * reading a pipe, prints their PIDs, then waits for its stdin to close and kills and reaps each
 * child by PID. A child of this small static program costs the kernel ~50 KiB; a child forked
 * from Python ~450 KiB (reference counts copy-on-write the interpreter's pages). The children
 * hold only the pipe's read end: if the forker dies they read end of file and exit. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 0;
    int pipe_fds[2];
    pid_t *pids = calloc(count > 0 ? count : 1, sizeof(pid_t));
    int made = 0;
    char byte;
    if (pids == NULL || pipe(pipe_fds) != 0)
        return 1;
    signal(SIGINT, SIG_IGN);
    while (made < count) {
        pid_t pid = fork();
        if (pid == 0) {
            close(pipe_fds[1]);
            close(0);
            close(1);
            (void)!read(pipe_fds[0], &byte, 1);
            _exit(0);
        }
        if (pid < 0) {
            perror("sleeper: fork");
            break;
        }
        pids[made++] = pid;
    }
    for (int i = 0; i < made; i++)
        printf("%d\n", (int)pids[i]);
    printf("ready\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    for (int i = 0; i < made; i++)
        kill(pids[i], SIGKILL);
    for (int i = 0; i < made; i++)
        waitpid(pids[i], NULL, 0);
    return 0;
}
