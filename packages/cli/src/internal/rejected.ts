import type { CodePipelineError } from "@pipetrail/core"
import type { SnapshotStore } from "@pipetrail/store"

/** What `rejected_response` keeps of a failed call, or `undefined` when the failure carries no response to keep. */
export const rejectionOf = (
  error: CodePipelineError.CodePipelineError | { readonly _tag: string }
): Omit<SnapshotStore.RejectedInput, "source" | "runId"> | undefined => {
  if (error._tag !== "ResponseDecodeError" && error._tag !== "ResponseMismatchError") return undefined
  const e = error as CodePipelineError.ResponseDecodeError | CodePipelineError.ResponseMismatchError
  return {
    operation: e.operation,
    ...(e.pipelineName === undefined ? {} : { pipelineName: e.pipelineName }),
    ...(e.pipelineExecutionId === undefined ? {} : { pipelineExecutionId: e.pipelineExecutionId }),
    payload: e.payload,
    issue: e.issue,
    ...(e.response === undefined ? {} : { response: e.response })
  }
}
