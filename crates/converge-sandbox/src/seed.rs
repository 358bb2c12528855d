//! What exists in an account before converge: the VPCs and buckets a spec
//! names but does not manage, put in place for demos and tests.

use crate::state::{Vpc, World};

/// Resources to create with the ids and names given (an AWS API could not choose them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seed {
    /// VPC id and IPv4 range: `("vpc-0b4c…", "10.0.0.0/16")`.
    pub vpcs: Vec<(String, String)>,
    /// S3 bucket names.
    pub buckets: Vec<String>,
}

pub(crate) fn apply(world: &mut World, seed: &Seed) {
    for (id, cidr) in &seed.vpcs {
        let vpc = Vpc { id: id.clone(), cidr: cidr.clone(), tags: Default::default() };
        world.ec2.vpcs.entry(id.clone()).or_insert(vpc);
    }
    for bucket in &seed.buckets {
        world.s3.buckets.entry(bucket.clone()).or_default();
    }
}
