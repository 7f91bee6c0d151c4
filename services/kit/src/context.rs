//! What a handler knows of the call it serves, built once per RPC at
//! dispatch: who is calling, and the headers to pass on to the services the
//! call reaches (so they apply the same caller's scope and see one request
//! id).

use tonic::Request;

use crate::{ServiceResult, auth::Identity, upstream::Forwarded};

#[derive(Debug, Clone)]
pub struct Ctx {
    pub who: Identity,
    pub fwd: Forwarded,
}

impl Ctx {
    /// The caller the auth layer authenticated, and the headers to forward.
    pub fn of<T>(request: &Request<T>) -> ServiceResult<Self> {
        Ok(Self { who: crate::auth::caller(request)?, fwd: Forwarded::from_metadata(request.metadata()) })
    }
}
