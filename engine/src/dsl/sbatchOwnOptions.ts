/**
 * sbatch options pipebook sets itself (from the step's resources, or to follow the job): given
 * again in `sbatchOptions` they would be ignored or would break following the job.
 */
const OWN_OPTIONS: Readonly<Record<string, string>> = {
  "--output": "pipebook streams the job's output", "-o": "pipebook streams the job's output",
  "--error": "pipebook streams the job's output", "-e": "pipebook streams the job's output", "--input": "steps read no stdin", "-i": "steps read no stdin",
  "--job-name": "the job is named after its step run", "-J": "the job is named after its step run", "--comment": "the comment names the run and step run",
  "--chdir": "the step runs in its own working folder", "-D": "the step runs in its own working folder", "--export": "the step's environment is the job's",
  "--parsable": "pipebook reads the job id", "--wait": "pipebook follows the job", "-W": "pipebook follows the job",
  "--array": "one step is one job", "-a": "one step is one job", "--nodes": "one step is one task on one node", "-N": "one step is one task on one node",
  "--ntasks": "one step is one task on one node", "-n": "one step is one task on one node",
  "--gres": "set from the step's gpus", "--gpus": "set from the step's gpus", "-G": "set from the step's gpus", "--gpus-per-node": "set from the step's gpus", "--gpus-per-task": "set from the step's gpus",
  "--cpus-per-task": "set from the step's cpus", "-c": "set from the step's cpus",
  "--mem": "set from the step's memoryMb", "--mem-per-cpu": "set from the step's memoryMb", "--mem-per-gpu": "set from the step's memoryMb",
  "--time": "set from the step's timeoutSeconds", "-t": "set from the step's timeoutSeconds",
  "--partition": 'use the target\'s "partition"', "-p": 'use the target\'s "partition"', "--account": 'use the target\'s "account"', "-A": 'use the target\'s "account"',
  "--qos": 'use the target\'s "qos"', "-q": 'use the target\'s "qos"',
  "--requeue": "a requeued step would write its outputs twice", "--wrap": "pipebook writes the job script", "--test-only": "pipebook submits the job",
  "--hold": "a held step would wait forever", "-H": "a held step would wait forever", "--dependency": "pipebook orders steps by their data", "-d": "pipebook orders steps by their data",
  "--clusters": "pipebook follows jobs on the default cluster", "-M": "pipebook follows jobs on the default cluster",
};

/** The option an argument names (`--mem=4G` → `--mem`, `-pgpu` → `-p`), or undefined for a value. */
function optionName(arg: string): string | undefined {
  if (arg.startsWith("--")) return arg.split("=")[0];
  return /^-[A-Za-z]/.test(arg) ? arg.slice(0, 2) : undefined;
}

/** Why pipebook sets the option `arg` names itself (for a sentence), or undefined when a user may give it. */
export function whyPipebookSets(arg: string): string | undefined {
  const name = optionName(arg);
  return name === undefined ? undefined : OWN_OPTIONS[name];
}
